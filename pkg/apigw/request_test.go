package apigw_test

import (
	"encoding/base64"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// The client-facing messages of the checks from the path id to the JSON document, as the
// contract's tables require them.
const (
	msgValidation  = "validation failed"
	msgContentType = "Content-Type must be application/json"
	msgTooLarge    = "request body must be at most 16384 bytes"
	msgEmpty       = "request body is empty; send a JSON object"
	msgNotUTF8     = "request body is not valid UTF-8"
	msgNotJSON     = "request body is not valid JSON"
	msgTrailing    = "request body has data after the JSON object"
	msgBadBase64   = "request body is marked base64-encoded but is not valid base64"
	updatableList  = `updatable members are "inbound_url", "status_url", "label", "campaign_id"`
)

// parseEvent decodes an event built from these parts as the handler does (NewUpdateRequest) and
// parses the result as the service does (ParseUpdateInput): the contract's checks 3 to 8, from
// the transport to the field values. hasContentType tells whether a Content-Type header is sent.
func parseEvent(id, contentType string, hasContentType bool, body string, isBase64 bool) (phonenumbers.UpdateInput, error) {
	ev := events.APIGatewayV2HTTPRequest{
		Headers:         map[string]string{},
		PathParameters:  map[string]string{"id": id},
		Body:            body,
		IsBase64Encoded: isBase64,
	}
	if hasContentType {
		ev.Headers["content-type"] = contentType
	}
	return phonenumbers.ParseUpdateInput(apigw.NewUpdateRequest(ev))
}

// wantErr is the exact client-facing face of an expected *phonenumbers.Error.
type wantErr struct {
	kind    phonenumbers.Kind
	message string
	details map[string]string
}

// checkErr fails unless err is a *phonenumbers.Error with exactly want's kind, message and details.
func checkErr(t *testing.T, err error, want wantErr) {
	t.Helper()
	var got *phonenumbers.Error
	if !errors.As(err, &got) {
		t.Fatalf("got error %v (%T), want *phonenumbers.Error of kind %v", err, err, want.kind)
	}
	if got.Kind != want.kind {
		t.Errorf("got kind %v, want %v (error: %v)", got.Kind, want.kind, err)
	}
	if got.Message != want.message {
		t.Errorf("got message %q, want %q", got.Message, want.message)
	}
	if !maps.Equal(got.Details, want.details) {
		t.Errorf("got details %v, want %v", got.Details, want.details)
	}
}

func idError() wantErr {
	return wantErr{phonenumbers.KindInvalidParameter, msgValidation, map[string]string{"id": "must be a UUID"}}
}

func invalidInput(message string) wantErr {
	return wantErr{kind: phonenumbers.KindInvalidInput, message: message}
}

var (
	unsupportedMediaType = wantErr{kind: phonenumbers.KindUnsupportedMediaType, message: msgContentType}
	payloadTooLarge      = wantErr{kind: phonenumbers.KindPayloadTooLarge, message: msgTooLarge}
)

// bodyOfSize returns a valid JSON object of exactly n bytes (n >= 2), padded with JSON whitespace.
func bodyOfSize(n int) string {
	return "{" + strings.Repeat(" ", n-2) + "}"
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func ptr(s string) *string { return &s }

func describePatch(p phonenumbers.Patch) string {
	var parts []string
	for _, f := range phonenumbers.UpdatableFields {
		v := "nil"
		if value := f.In(p); value != nil {
			v = `"` + *value + `"`
		}
		parts = append(parts, string(f.Name)+":"+v)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func TestParseUpdateInputContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
		wantErr     bool
	}{
		{name: "accepts absent Content-Type", contentType: ""},
		{name: "accepts application/json", contentType: "application/json"},
		{name: "accepts application/json with charset", contentType: "application/json; charset=utf-8"},
		{name: "accepts parameter without space", contentType: "application/json;charset=UTF-8"},
		{name: "accepts upper-case media type", contentType: "APPLICATION/JSON"},
		{name: "accepts merge-patch+json", contentType: "application/merge-patch+json"},
		{name: "accepts vnd.api+json", contentType: "application/vnd.api+json"},
		{name: "accepts +json with parameter", contentType: "application/merge-patch+json; charset=utf-8"},
		{name: "rejects text/plain", contentType: "text/plain", wantErr: true},
		{name: "rejects application/xml", contentType: "application/xml", wantErr: true},
		{name: "rejects bare +json suffix", contentType: "application/+json", wantErr: true},
		{name: "rejects text/json", contentType: "text/json", wantErr: true},
		{name: "rejects +json outside application", contentType: "text/vnd.api+json", wantErr: true},
		{name: "rejects lookalike application/jsonx", contentType: "application/jsonx", wantErr: true},
		{name: "rejects form encoding curl sends by default", contentType: "application/x-www-form-urlencoded", wantErr: true},
		{name: "rejects multipart", contentType: "multipart/form-data; boundary=x", wantErr: true},
		{name: "rejects garbage", contentType: "garbage", wantErr: true},
		{name: "rejects missing subtype", contentType: "application/", wantErr: true},
		{name: "rejects whitespace only", contentType: "   ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseEvent(numberID, tt.contentType, tt.contentType != "", `{"label":"x"}`, false)
			if tt.wantErr {
				checkErr(t, err, unsupportedMediaType)
				return
			}
			if err != nil {
				t.Errorf("got error %v, want none", err)
			}
		})
	}
}

func TestParseUpdateInputBodySize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		isBase64 bool
		wantErr  bool
	}{
		{name: "accepts body of exactly 16384 bytes", body: bodyOfSize(16384)},
		{name: "rejects body of 16385 bytes", body: bodyOfSize(16385), wantErr: true},
		{name: "rejects body of 1 MiB", body: bodyOfSize(1 << 20), wantErr: true},
		{name: "accepts base64 body decoding to exactly 16384 bytes", body: b64(bodyOfSize(16384)), isBase64: true},
		{name: "accepts base64 body decoding to 16383 bytes", body: b64(bodyOfSize(16383)), isBase64: true},
		{name: "rejects base64 body decoding to 16385 bytes", body: b64(bodyOfSize(16385)), isBase64: true, wantErr: true},
		{name: "rejects base64 body decoding to 16386 bytes", body: b64(bodyOfSize(16386)), isBase64: true, wantErr: true},
		{name: "rejects base64 body decoding to 16387 bytes", body: b64(bodyOfSize(16387)), isBase64: true, wantErr: true},
		{name: "rejects huge base64 body before decoding", body: strings.Repeat("!", 1<<20), isBase64: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseEvent(numberID, "application/json", true, tt.body, tt.isBase64)
			if tt.wantErr {
				checkErr(t, err, payloadTooLarge)
				return
			}
			if err != nil {
				t.Errorf("got error %v, want none", err)
			}
		})
	}
}

func TestParseUpdateInputBase64Body(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		body      string
		wantPatch phonenumbers.Patch
		wantErr   *wantErr
	}{
		{name: "decodes base64 body", body: b64(`{"label":"support-line"}`), wantPatch: phonenumbers.Patch{Label: ptr("support-line")}},
		{name: "decodes base64 body with multibyte label", body: b64(`{"label":"Zürich ☎"}`), wantPatch: phonenumbers.Patch{Label: ptr("Zürich ☎")}},
		{name: "rejects body that is not base64", body: "{not base64}", wantErr: &wantErr{kind: phonenumbers.KindInvalidInput, message: msgBadBase64}},
		{name: "rejects base64 with bad padding", body: "eyJ9=", wantErr: &wantErr{kind: phonenumbers.KindInvalidInput, message: msgBadBase64}},
		{name: "rejects raw JSON flagged as base64", body: `{"label":"x"}`, wantErr: &wantErr{kind: phonenumbers.KindInvalidInput, message: msgBadBase64}},
		{name: "rejects empty decoded body", body: "", wantErr: &wantErr{kind: phonenumbers.KindInvalidInput, message: msgEmpty}},
		{name: "rejects decoded body that is not UTF-8", body: b64("{\"label\":\"\xff\"}"), wantErr: &wantErr{kind: phonenumbers.KindInvalidInput, message: msgNotUTF8}},
		{name: "rejects decoded body that is not JSON", body: b64("label=x"), wantErr: &wantErr{kind: phonenumbers.KindInvalidInput, message: msgNotJSON}},
		{name: "validates decoded fields", body: b64(`{"campaign_id":"nope"}`), wantErr: &wantErr{phonenumbers.KindValidationFailed, msgValidation, map[string]string{"campaign_id": "must be a UUID"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseEvent(numberID, "application/json", true, tt.body, true)
			if tt.wantErr != nil {
				checkErr(t, err, *tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(got.Patch, tt.wantPatch) {
				t.Errorf("got patch %s, want %s", describePatch(got.Patch), describePatch(tt.wantPatch))
			}
		})
	}
}

// TestParseUpdateInputCheckOrder shows that when a request breaks several rules, the first
// failing check of the contract's table is the one reported.
func TestParseUpdateInputCheckOrder(t *testing.T) {
	t.Parallel()
	tooLargeGarbage := strings.Repeat("x", apigw.MaxBodyBytes+1)
	tests := []struct {
		name        string
		id          string
		contentType string
		body        string
		isBase64    bool
		want        wantErr
	}{
		{name: "bad id wins over bad Content-Type", id: "nope", contentType: "text/plain", body: `{}`, want: idError()},
		{name: "bad id wins over everything", id: "nope", contentType: "text/plain", body: tooLargeGarbage, want: idError()},
		{name: "bad Content-Type wins over too large body", id: numberID, contentType: "text/plain", body: tooLargeGarbage, want: unsupportedMediaType},
		{name: "bad Content-Type wins over bad JSON", id: numberID, contentType: "application/xml", body: `<label/>`, want: unsupportedMediaType},
		{name: "bad Content-Type wins over invalid base64", id: numberID, contentType: "text/plain", body: "!!!", isBase64: true, want: unsupportedMediaType},
		{name: "too large wins over bad JSON", id: numberID, body: tooLargeGarbage, want: payloadTooLarge},
		{name: "too large base64 wins over bad JSON inside", id: numberID, body: b64(tooLargeGarbage), isBase64: true, want: payloadTooLarge},
		{name: "too large wins over unsupported members", id: numberID, body: `{"x":"` + strings.Repeat("a", apigw.MaxBodyBytes) + `"}`, want: payloadTooLarge},
		{name: "bad UTF-8 wins over bad JSON", id: numberID, body: "\xff not json", want: invalidInput(msgNotUTF8)},
		{name: "duplicate member wins over unsupported member", id: numberID, body: `{"x":1,"label":"a","label":"b"}`, want: invalidInput(`request body has duplicate member "label"`)},
		{name: "trailing data wins over unsupported member", id: numberID, body: `{"x":1} {}`, want: invalidInput(msgTrailing)},
		{name: "syntax error after an unsupported member wins", id: numberID, body: `{"x":1,"label":}`, want: invalidInput(msgNotJSON)},
		{name: "unsupported member wins over bad values", id: numberID, body: `{"campaign_id":"","Label":"x"}`, want: invalidInput(`unsupported member "Label"; ` + updatableList)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseEvent(tt.id, tt.contentType, tt.contentType != "", tt.body, tt.isBase64)
			checkErr(t, err, tt.want)
		})
	}
}

func TestEmptyContentTypeHeaderIsPresentAndNotJSON(t *testing.T) {
	t.Parallel()
	_, err := parseEvent(numberID, "", true, `{"label":"x"}`, false)
	checkErr(t, err, unsupportedMediaType)

	if _, err := parseEvent(numberID, "", false, `{"label":"x"}`, false); err != nil {
		t.Errorf("absent Content-Type: got error %v, want none", err)
	}
}
