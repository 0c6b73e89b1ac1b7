package apigw

import (
	"encoding/base64"
	"mime"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// MaxBodyBytes is the largest request body accepted, measured after base64 decoding.
const MaxBodyBytes = 16 << 10

// NewUpdateRequest decodes the HTTP transport of event into the domain's typed request: the
// Bearer credentials, the path id, the body after its Content-Type, size and base64 encoding
// have been checked, and the If-Match. A transport problem with the body or the If-Match is not
// answered here but carried in BodyErr or PreconditionErr, because the contract reports it only
// after authentication, the path id and (for If-Match) the body's members.
func NewUpdateRequest(event events.APIGatewayV2HTTPRequest) phonenumbers.UpdateRequest {
	authorization, _ := header(event.Headers, "Authorization")
	secret, _ := phonenumbers.ParseBearer(authorization)
	contentType, hasContentType := header(event.Headers, "Content-Type")
	req := phonenumbers.UpdateRequest{Secret: secret, PhoneNumberID: event.PathParameters["id"]}
	req.Body, req.BodyErr = decodeBody(contentType, hasContentType, event.Body, event.IsBase64Encoded)
	if ifMatch, ok := header(event.Headers, ifMatchHeader); ok {
		req.Precondition, req.PreconditionErr = ParseIfMatch(ifMatch)
	}
	return req
}

// header returns the value of the named header and whether it was sent, matched
// case-insensitively as HTTP requires (API Gateway lower-cases names, but other producers of these
// events need not).
func header(headers map[string]string, name string) (string, bool) {
	if v, ok := headers[strings.ToLower(name)]; ok {
		return v, true
	}
	// Several spellings of one name: take the smallest, so the choice does not depend on map
	// iteration order.
	var value, matched string
	for k, v := range headers {
		if strings.EqualFold(k, name) && (matched == "" || k < matched) {
			value, matched = v, k
		}
	}
	return value, matched != ""
}

// decodeBody applies the contract's checks 4 and 5 and the body's transport encoding: a
// Content-Type, when sent (even empty), must name JSON; the body must be at most MaxBodyBytes
// once decoded; a body marked base64-encoded must be valid base64.
func decodeBody(contentType string, hasContentType bool, body string, isBase64 bool) ([]byte, error) {
	if hasContentType && !isJSONMediaType(contentType) {
		return nil, phonenumbers.Errorf(phonenumbers.KindUnsupportedMediaType, "Content-Type must be application/json")
	}
	tooLarge := phonenumbers.Errorf(phonenumbers.KindPayloadTooLarge, "request body must be at most %d bytes", MaxBodyBytes)
	if !isBase64 {
		if len(body) > MaxBodyBytes {
			return nil, tooLarge
		}
		return []byte(body), nil
	}
	// Refuse before decoding what cannot fit: padding removes at most two bytes. The decoder
	// skips line breaks (as in base64 wrapped at 76 columns), so they do not count.
	encoded := len(body) - strings.Count(body, "\n") - strings.Count(body, "\r")
	if base64.StdEncoding.DecodedLen(encoded)-2 > MaxBodyBytes {
		return nil, tooLarge
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, phonenumbers.Errorf(phonenumbers.KindInvalidInput, "request body is marked base64-encoded but is not valid base64")
	}
	if len(raw) > MaxBodyBytes {
		return nil, tooLarge
	}
	return raw, nil
}

// isJSONMediaType accepts application/json and any application/*+json type, with parameters.
func isJSONMediaType(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	if mediaType == "application/json" {
		return true
	}
	sub, ok := strings.CutPrefix(mediaType, "application/")
	return ok && strings.HasSuffix(sub, "+json") && len(sub) > len("+json")
}
