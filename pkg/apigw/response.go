package apigw

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// RetryAfterSeconds is the Retry-After value sent with 503 responses.
const RetryAfterSeconds = "1"

// Error codes of the contract.
const (
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeValidationFailed     = "VALIDATION_FAILED"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeInvalidInput         = "INVALID_INPUT"
	CodeCampaignNotActive    = "CAMPAIGN_NOT_ACTIVE"
	CodeNotFound             = "NOT_FOUND"
	CodePreconditionFailed   = "PRECONDITION_FAILED"
	CodeServiceUnavailable   = "SERVICE_UNAVAILABLE"
	CodeInternal             = "INTERNAL"
)

// outcome is the HTTP face of an error kind.
type outcome struct {
	status int
	code   string
	// message replaces the error's own message when set: for kinds whose cause must not reach
	// clients.
	message string
}

// outcomes is the one table from error kind to HTTP status and error code.
var outcomes = map[phonenumbers.Kind]outcome{
	phonenumbers.KindUnauthenticated:      {http.StatusUnauthorized, CodeUnauthorized, ""},
	phonenumbers.KindForbidden:            {http.StatusForbidden, CodeForbidden, ""},
	phonenumbers.KindInvalidParameter:     {http.StatusBadRequest, CodeValidationFailed, ""},
	phonenumbers.KindUnsupportedMediaType: {http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, ""},
	phonenumbers.KindPayloadTooLarge:      {http.StatusRequestEntityTooLarge, CodePayloadTooLarge, ""},
	phonenumbers.KindInvalidInput:         {http.StatusBadRequest, CodeInvalidInput, ""},
	phonenumbers.KindValidationFailed:     {http.StatusUnprocessableEntity, CodeValidationFailed, ""},
	phonenumbers.KindCampaignNotActive:    {http.StatusConflict, CodeCampaignNotActive, ""},
	phonenumbers.KindNotFound:             {http.StatusNotFound, CodeNotFound, ""},
	phonenumbers.KindPreconditionFailed:   {http.StatusPreconditionFailed, CodePreconditionFailed, ""},
	phonenumbers.KindUnavailable:          {http.StatusServiceUnavailable, CodeServiceUnavailable, phonenumbers.MessageUnavailable},
	phonenumbers.KindInternal:             {http.StatusInternalServerError, CodeInternal, "internal error"},
}

// outcomeOf returns the status, code and client-facing message for err, and the field details
// to show. Anything that is not a classified *phonenumbers.Error is internal, and no text of an
// internal or unavailable error reaches the client.
func outcomeOf(err error) (outcome, map[string]string) {
	var domainErr *phonenumbers.Error
	if !errors.As(err, &domainErr) {
		return outcomes[phonenumbers.KindInternal], nil
	}
	o, ok := outcomes[domainErr.Kind]
	if !ok {
		return outcomes[phonenumbers.KindInternal], nil
	}
	if o.message != "" {
		return o, nil
	}
	o.message = domainErr.Message
	return o, domainErr.Details
}

// Envelope is the JSON document of every response.
type Envelope struct {
	Success bool             `json:"success"`
	Data    *PhoneNumberJSON `json:"data,omitempty"`
	Error   *ErrorJSON       `json:"error,omitempty"`
}

// ErrorJSON is the error member of an error response.
type ErrorJSON struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"request_id"`
	Details   map[string]string `json:"details,omitempty"`
}

// PhoneNumberJSON is the phone number resource on the wire: all thirteen fields always present,
// null when unset.
type PhoneNumberJSON struct {
	ID                            string  `json:"id"`
	Number                        string  `json:"number"`
	NumberType                    string  `json:"number_type"`
	InboundURL                    *string `json:"inbound_url"`
	StatusURL                     *string `json:"status_url"`
	Label                         *string `json:"label"`
	CampaignID                    *string `json:"campaign_id"`
	CarrierLineOptionStatus       *string `json:"carrier_line_option_status"`
	CarrierLineOptionPropagatedAt *string `json:"carrier_line_option_propagated_at"`
	SMSEnabled                    bool    `json:"sms_enabled"`
	MMSEnabled                    bool    `json:"mms_enabled"`
	CreatedAt                     string  `json:"created_at"`
	UpdatedAt                     string  `json:"updated_at"`
}

// NewPhoneNumberJSON returns the wire form of n.
func NewPhoneNumberJSON(n phonenumbers.PhoneNumber) *PhoneNumberJSON {
	var propagatedAt *string
	if n.CarrierLineOptionPropagatedAt != nil {
		s := phonenumbers.FormatTime(*n.CarrierLineOptionPropagatedAt)
		propagatedAt = &s
	}
	return &PhoneNumberJSON{
		ID:                            n.ID,
		Number:                        n.Number,
		NumberType:                    string(n.NumberType),
		InboundURL:                    n.InboundURL,
		StatusURL:                     n.StatusURL,
		Label:                         n.Label,
		CampaignID:                    n.CampaignID,
		CarrierLineOptionStatus:       n.CarrierLineOptionStatus,
		CarrierLineOptionPropagatedAt: propagatedAt,
		SMSEnabled:                    n.SMSEnabled,
		MMSEnabled:                    n.MMSEnabled,
		CreatedAt:                     phonenumbers.FormatTime(n.CreatedAt),
		UpdatedAt:                     phonenumbers.FormatTime(n.UpdatedAt),
	}
}

// respond builds a response with the contract's headers around a JSON envelope.
func respond(status int, requestID string, body Envelope) events.APIGatewayV2HTTPResponse {
	encoded, err := json.Marshal(body)
	if err != nil {
		// The envelope holds only strings, bools and string maps: it always encodes.
		panic("apigw: encode envelope: " + err.Error())
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"Content-Type":  "application/json",
			"Cache-Control": "no-store",
			"X-Request-Id":  requestID,
		},
		Body: string(encoded),
	}
}

// errorResponse renders err as the contract's error envelope.
func errorResponse(requestID string, err error) events.APIGatewayV2HTTPResponse {
	o, details := outcomeOf(err)
	body := &ErrorJSON{Code: o.code, Message: o.message, RequestID: requestID, Details: details}
	resp := respond(o.status, requestID, Envelope{Error: body})
	switch o.status {
	case http.StatusUnauthorized:
		resp.Headers["WWW-Authenticate"] = "Bearer"
	case http.StatusServiceUnavailable:
		resp.Headers["Retry-After"] = RetryAfterSeconds
	case http.StatusPreconditionFailed:
		// The current entity-tag, so that the client can re-read and decide again; outcomeOf gave
		// a 412, so err holds a *phonenumbers.Error.
		var domainErr *phonenumbers.Error
		errors.As(err, &domainErr)
		resp.Headers["ETag"] = etag(domainErr.CurrentVersion)
	}
	return resp
}
