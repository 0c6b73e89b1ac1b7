package phonenumbers_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/webhook"
)

const (
	numberID   = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	campaignID = "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"
)

// The client-facing messages of ParseUpdateInput and of the transport errors it passes on, as the contract's tables require them.
const (
	msgValidation  = "validation failed"
	msgContentType = "Content-Type must be application/json"
	msgTooLarge    = "request body must be at most 16384 bytes"
	msgEmpty       = "request body is empty; send a JSON object"
	msgNotUTF8     = "request body is not valid UTF-8"
	msgNotJSON     = "request body is not valid JSON"
	msgNotObject   = "request body must be a JSON object"
	msgTrailing    = "request body has data after the JSON object"
	updatableList  = `updatable members are "inbound_url", "status_url", "label", "campaign_id"`
)

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

func fieldErrors(details map[string]string) wantErr {
	return wantErr{phonenumbers.KindValidationFailed, msgValidation, details}
}

var (
	unsupportedMediaType = wantErr{kind: phonenumbers.KindUnsupportedMediaType, message: msgContentType}
	payloadTooLarge      = wantErr{kind: phonenumbers.KindPayloadTooLarge, message: msgTooLarge}
)

func ptr(s string) *string { return &s }

// parse runs ParseUpdateInput on a request whose transport delivered body intact.
func parse(id, body string) (phonenumbers.UpdateInput, error) {
	return phonenumbers.ParseUpdateInput(phonenumbers.UpdateRequest{PhoneNumberID: id, Body: []byte(body)})
}

func TestParseUpdateInputPathID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      string
		wantID  string
		wantErr bool
	}{
		{name: "accepts lower-case UUID", id: numberID, wantID: numberID},
		{name: "normalises upper-case UUID to lower case", id: strings.ToUpper(numberID), wantID: numberID},
		{name: "normalises mixed-case UUID to lower case", id: "497F6ECA-6276-4993-bfeb-53CBBBBA6F08", wantID: numberID},
		{name: "accepts nil UUID", id: "00000000-0000-0000-0000-000000000000", wantID: "00000000-0000-0000-0000-000000000000"},
		{name: "rejects empty id", id: "", wantErr: true},
		{name: "rejects UUID without hyphens", id: "497f6eca62764993bfeb53cbbbba6f08", wantErr: true},
		{name: "rejects UUID in braces", id: "{" + numberID + "}", wantErr: true},
		{name: "rejects URN form", id: "urn:uuid:" + numberID, wantErr: true},
		{name: "rejects non-hex character", id: "497f6eca-6276-4993-bfeb-53cbbbba6f0g", wantErr: true},
		{name: "rejects one character short", id: numberID[:35], wantErr: true},
		{name: "rejects one character long", id: numberID + "0", wantErr: true},
		{name: "rejects misplaced hyphen", id: "497f6ec-a6276-4993-bfeb-53cbbbba6f08", wantErr: true},
		{name: "rejects surrounding whitespace", id: " " + numberID[1:], wantErr: true},
		{name: "rejects trailing newline", id: numberID[:35] + "\n", wantErr: true},
		{name: "rejects path traversal", id: "../../../../../../../../etc/passwd", wantErr: true},
		{name: "rejects non-ASCII digits", id: "497f6eca-6276-4993-bfeb-53cbbbba6f0٨", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parse(tt.id, `{}`)
			if tt.wantErr {
				checkErr(t, err, idError())
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got.PhoneNumberID != tt.wantID {
				t.Errorf("got id %q, want %q", got.PhoneNumberID, tt.wantID)
			}
		})
	}
}

func TestParseUpdateInputRejectsMalformedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		message string
	}{
		{name: "empty body", body: "", message: msgEmpty},
		{name: "whitespace-only body", body: " \t\r\n ", message: msgEmpty},
		{name: "non-JSON whitespace is not JSON", body: "\u00a0", message: msgNotJSON},
		{name: "plain text", body: "label=support", message: msgNotJSON},
		{name: "truncated object", body: `{"label":"x"`, message: msgNotJSON},
		{name: "trailing comma", body: `{"label":"x",}`, message: msgNotJSON},
		{name: "missing colon", body: `{"label" "x"}`, message: msgNotJSON},
		{name: "missing comma between members", body: `{"label":"x" "status_url":null}`, message: msgNotJSON},
		{name: "single-quoted strings", body: `{'label':'x'}`, message: msgNotJSON},
		{name: "unquoted member name", body: `{label:"x"}`, message: msgNotJSON},
		{name: "invalid escape", body: `{"label":"\x"}`, message: msgNotJSON},
		{name: "raw control character in string", body: "{\"label\":\"a\x01b\"}", message: msgNotJSON},
		{name: "byte-order mark", body: "\ufeff{}", message: msgNotJSON},
		{name: "array", body: `[{"label":"x"}]`, message: msgNotObject},
		{name: "empty array", body: `[]`, message: msgNotObject},
		{name: "string", body: `"label"`, message: msgNotObject},
		{name: "number", body: `42`, message: msgNotObject},
		{name: "boolean", body: `true`, message: msgNotObject},
		{name: "null", body: `null`, message: msgNotObject},
		{name: "two objects", body: `{}{}`, message: msgTrailing},
		{name: "two objects on separate lines", body: "{\"label\":\"a\"}\n{\"label\":\"b\"}", message: msgTrailing},
		{name: "trailing garbage", body: `{"label":"x"} garbage`, message: msgTrailing},
		{name: "trailing closing bracket", body: `{"label":"x"}]`, message: msgTrailing},
		{name: "trailing no-break space", body: "{}\u00a0", message: msgTrailing},
		{name: "trailing line separator", body: "{}\u2028", message: msgTrailing},
		{name: "invalid UTF-8 in value", body: "{\"label\":\"\xff\xfe\"}", message: msgNotUTF8},
		{name: "invalid UTF-8 in member name", body: "{\"lab\xc3el\":\"x\"}", message: msgNotUTF8},
		{name: "overlong UTF-8 encoding", body: "{\"label\":\"\xc0\xaf\"}", message: msgNotUTF8},
		{name: "UTF-8 encoded surrogate", body: "{\"label\":\"\xed\xa0\x80\"}", message: msgNotUTF8},
		{name: "duplicate member", body: `{"label":"a","label":"b"}`, message: `request body has duplicate member "label"`},
		{name: "duplicate member with null", body: `{"label":null,"label":"b"}`, message: `request body has duplicate member "label"`},
		{name: "duplicate member spelled with escape", body: `{"label":"a","l\u0061bel":"b"}`, message: `request body has duplicate member "label"`},
		{name: "duplicate unsupported member", body: `{"x":1,"x":2}`, message: `request body has duplicate member "x"`},
		{name: "nesting deeper than the decoder allows", body: `{"label":` + strings.Repeat("[", 10_001), message: msgNotJSON},
		{name: "unclosed deep nesting", body: `{"label":` + strings.Repeat(`{"a":`, 3000), message: msgNotJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(numberID, tt.body)
			checkErr(t, err, invalidInput(tt.message))
		})
	}
}

func TestParseUpdateInputRejectsUnsupportedMembers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		message string
	}{
		{name: "names one unsupported member", body: `{"number":"+14155550123"}`,
			message: `unsupported member "number"; ` + updatableList},
		{name: "names every unsupported member in document order", body: `{"id":"x","label":"ok","sms_enabled":true,"org_id":"y"}`,
			message: `unsupported members "id", "sms_enabled", "org_id"; ` + updatableList},
		{name: "member names are case-sensitive", body: `{"Label":"x"}`,
			message: `unsupported member "Label"; ` + updatableList},
		{name: "camel-case spelling is unsupported", body: `{"inboundUrl":"https://customer.example/"}`,
			message: `unsupported member "inboundUrl"; ` + updatableList},
		{name: "read-only carrier fields are unsupported", body: `{"carrier_line_option_status":null,"carrier_line_option_propagated_at":null}`,
			message: `unsupported members "carrier_line_option_status", "carrier_line_option_propagated_at"; ` + updatableList},
		{name: "timestamps are unsupported", body: `{"updated_at":"2026-04-27T09:30:00Z"}`,
			message: `unsupported member "updated_at"; ` + updatableList},
		{name: "empty member name is unsupported", body: `{"":"x"}`,
			message: `unsupported member ""; ` + updatableList},
		{name: "member name is quoted safely", body: `{"a\"b\n":1}`,
			message: `unsupported member "a\"b\n"; ` + updatableList},
		{name: "deeply nested value of an unsupported member", body: `{"meta":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
			message: `unsupported member "meta"; ` + updatableList},
		{name: "unsupported member wins over bad values", body: `{"label":5,"campaign_id":"","foo":"bar"}`,
			message: `unsupported member "foo"; ` + updatableList},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(numberID, tt.body)
			checkErr(t, err, invalidInput(tt.message))
		})
	}
}

func TestParseUpdateInputFieldValues(t *testing.T) {
	t.Parallel()
	const goodURL = "https://customer.example/v2/inbound"
	metadataURL := "https://169.254.169.254/latest/meta-data/"
	metadataErr := webhook.Validate(metadataURL)
	if metadataErr == nil {
		t.Fatalf("webhook.Validate(%q) = nil, want an error", metadataURL)
	}
	longURL := "https://customer.example/" + strings.Repeat("a", webhook.MaxLength)

	tests := []struct {
		name        string
		body        string
		wantPatch   phonenumbers.Patch
		wantDetails map[string]string
	}{
		// Absent, null and "" members.
		{name: "empty object changes nothing", body: `{}`},
		{name: "null members leave fields unchanged", body: `{"inbound_url":null,"status_url":null,"label":null,"campaign_id":null}`},
		{name: "empty inbound_url clears it", body: `{"inbound_url":""}`, wantPatch: phonenumbers.Patch{InboundURL: ptr("")}},
		{name: "empty status_url clears it", body: `{"status_url":""}`, wantPatch: phonenumbers.Patch{StatusURL: ptr("")}},
		{name: "empty label clears it", body: `{"label":""}`, wantPatch: phonenumbers.Patch{Label: ptr("")}},
		{name: "empty campaign_id is refused", body: `{"campaign_id":""}`, wantDetails: map[string]string{"campaign_id": "must not be empty"}},
		{name: "whitespace around values is JSON whitespace", body: " {\n\t\"label\" :  null ,\r\n \"inbound_url\"\t:\"\" } \n", wantPatch: phonenumbers.Patch{InboundURL: ptr("")}},

		// Valid values.
		{name: "sets every field at once",
			body: `{"inbound_url":"` + goodURL + `","status_url":"https://customer.example/status","label":"support-line","campaign_id":"` + campaignID + `"}`,
			wantPatch: phonenumbers.Patch{InboundURL: ptr(goodURL), StatusURL: ptr("https://customer.example/status"),
				Label: ptr("support-line"), CampaignID: ptr(campaignID)}},
		{name: "normalises upper-case campaign_id to lower case", body: `{"campaign_id":"` + strings.ToUpper(campaignID) + `"}`, wantPatch: phonenumbers.Patch{CampaignID: ptr(campaignID)}},
		{name: "decodes escapes in label", body: `{"label":"caf\u00e9 \"A\""}`, wantPatch: phonenumbers.Patch{Label: ptr(`café "A"`)}},

		// Types.
		{name: "number inbound_url is not a string", body: `{"inbound_url":1}`, wantDetails: map[string]string{"inbound_url": "must be a string or null"}},
		{name: "boolean status_url is not a string", body: `{"status_url":false}`, wantDetails: map[string]string{"status_url": "must be a string or null"}},
		{name: "object label is not a string", body: `{"label":{"text":"x"}}`, wantDetails: map[string]string{"label": "must be a string or null"}},
		{name: "array campaign_id is not a string", body: `{"campaign_id":["` + campaignID + `"]}`, wantDetails: map[string]string{"campaign_id": "must be a string or null"}},
		{name: "true label is not a string", body: `{"label":true}`, wantDetails: map[string]string{"label": "must be a string or null"}},
		{name: "deeply nested label is not a string", body: `{"label":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`,
			wantDetails: map[string]string{"label": "must be a string or null"}},

		// URLs (the rules themselves are webhook.Validate's; these show they are applied).
		{name: "http inbound_url is refused", body: `{"inbound_url":"http://customer.example/in"}`, wantDetails: map[string]string{"inbound_url": "must use https://"}},
		{name: "metadata address status_url is refused", body: `{"status_url":"` + metadataURL + `"}`, wantDetails: map[string]string{"status_url": metadataErr.Error()}},
		{name: "over-long inbound_url is refused", body: `{"inbound_url":"` + longURL + `"}`, wantDetails: map[string]string{"inbound_url": "must be at most 2048 bytes"}},

		// Labels.
		{name: "label of 255 two-byte characters is accepted", body: `{"label":"` + strings.Repeat("é", 255) + `"}`, wantPatch: phonenumbers.Patch{Label: ptr(strings.Repeat("é", 255))}},
		{name: "label of 255 four-byte characters is accepted", body: `{"label":"` + strings.Repeat("😀", 255) + `"}`, wantPatch: phonenumbers.Patch{Label: ptr(strings.Repeat("😀", 255))}},
		{name: "label of 256 two-byte characters is refused", body: `{"label":"` + strings.Repeat("é", 256) + `"}`, wantDetails: map[string]string{"label": "must be at most 255 characters"}},
		{name: "label of 256 ASCII characters is refused", body: `{"label":"` + strings.Repeat("a", 256) + `"}`, wantDetails: map[string]string{"label": "must be at most 255 characters"}},
		{name: "label with newline is refused", body: `{"label":"line\nbreak"}`, wantDetails: map[string]string{"label": "must not contain control characters"}},
		{name: "label with tab is refused", body: `{"label":"a\tb"}`, wantDetails: map[string]string{"label": "must not contain control characters"}},
		{name: "label with NUL is refused", body: `{"label":"a\u0000b"}`, wantDetails: map[string]string{"label": "must not contain control characters"}},
		{name: "label with DEL is refused", body: `{"label":"a\u007fb"}`, wantDetails: map[string]string{"label": "must not contain control characters"}},
		{name: "label with C1 control is refused", body: `{"label":"a\u0085b"}`, wantDetails: map[string]string{"label": "must not contain control characters"}},

		// Campaign ids.
		{name: "campaign_id that is not a UUID is refused", body: `{"campaign_id":"campaign-1"}`, wantDetails: map[string]string{"campaign_id": "must be a UUID"}},
		{name: "campaign_id without hyphens is refused", body: `{"campaign_id":"78614b6cfe7c41e28e25c9b3a3c91904"}`, wantDetails: map[string]string{"campaign_id": "must be a UUID"}},
		{name: "campaign_id with surrounding spaces is refused", body: `{"campaign_id":" ` + campaignID + ` "}`, wantDetails: map[string]string{"campaign_id": "must be a UUID"}},

		// Every failing field is reported at once.
		{name: "reports all four failing fields at once",
			body: `{"inbound_url":"http://customer.example/","status_url":7,"label":"a\u0000","campaign_id":""}`,
			wantDetails: map[string]string{
				"inbound_url": "must use https://",
				"status_url":  "must be a string or null",
				"label":       "must not contain control characters",
				"campaign_id": "must not be empty",
			}},
		{name: "reports only the failing fields", body: `{"inbound_url":"` + goodURL + `","label":null,"campaign_id":"x"}`,
			wantDetails: map[string]string{"campaign_id": "must be a UUID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parse(numberID, tt.body)
			if tt.wantDetails != nil {
				checkErr(t, err, fieldErrors(tt.wantDetails))
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(got.Patch, tt.wantPatch) {
				t.Errorf("got patch %s, want %s", describePatch(got.Patch), describePatch(tt.wantPatch))
			}
			if empty := len(got.Patch.Changes()) == 0; empty != (tt.wantPatch == phonenumbers.Patch{}) {
				t.Errorf("got no changes %v, want %v", empty, tt.wantPatch == phonenumbers.Patch{})
			}
		})
	}
}

func TestPatchChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		patch phonenumbers.Patch
		want  []phonenumbers.Change
	}{
		{name: "empty patch has no changes", patch: phonenumbers.Patch{}, want: []phonenumbers.Change{}},
		{name: "value becomes a change with that value",
			patch: phonenumbers.Patch{Label: ptr("support")},
			want:  []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: ptr("support")}}},
		{name: "empty string becomes a clear with nil value",
			patch: phonenumbers.Patch{StatusURL: ptr("")},
			want:  []phonenumbers.Change{{Field: phonenumbers.FieldStatusURL, Value: nil}}},
		{name: "changes follow the documented field order",
			patch: phonenumbers.Patch{CampaignID: ptr(campaignID), Label: ptr(""), StatusURL: ptr("https://customer.example/s"), InboundURL: ptr("https://customer.example/i")},
			want: []phonenumbers.Change{
				{Field: phonenumbers.FieldInboundURL, Value: ptr("https://customer.example/i")},
				{Field: phonenumbers.FieldStatusURL, Value: ptr("https://customer.example/s")},
				{Field: phonenumbers.FieldLabel, Value: nil},
				{Field: phonenumbers.FieldCampaignID, Value: ptr(campaignID)},
			}},
		{name: "untouched fields are left out",
			patch: phonenumbers.Patch{InboundURL: ptr(""), CampaignID: ptr(campaignID)},
			want: []phonenumbers.Change{
				{Field: phonenumbers.FieldInboundURL, Value: nil},
				{Field: phonenumbers.FieldCampaignID, Value: ptr(campaignID)},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.patch.Changes()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got changes %s, want %s", describeChanges(got), describeChanges(tt.want))
			}
		})
	}
}

// TestParsedPatchChangesIgnoreDocumentOrder ties parsing to Changes: the order of members in the
// body does not matter, and "" arrives as a clear.
func TestParsedPatchChangesIgnoreDocumentOrder(t *testing.T) {
	t.Parallel()
	got, err := parse(numberID,
		`{"campaign_id":"`+strings.ToUpper(campaignID)+`","label":"x","status_url":null,"inbound_url":""}`)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := []phonenumbers.Change{
		{Field: phonenumbers.FieldInboundURL, Value: nil},
		{Field: phonenumbers.FieldLabel, Value: ptr("x")},
		{Field: phonenumbers.FieldCampaignID, Value: ptr(campaignID)},
	}
	if changes := got.Patch.Changes(); !reflect.DeepEqual(changes, want) {
		t.Errorf("got changes %s, want %s", describeChanges(changes), describeChanges(want))
	}
}

func TestUpdatableFieldsAreTheContractsFour(t *testing.T) {
	t.Parallel()
	want := []phonenumbers.Field{"inbound_url", "status_url", "label", "campaign_id"}
	var got []phonenumbers.Field
	for _, f := range phonenumbers.UpdatableFields {
		got = append(got, f.Name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got UpdatableFields %v, want %v", got, want)
	}
}

func describePatch(p phonenumbers.Patch) string {
	s := func(v *string) string {
		if v == nil {
			return "nil"
		}
		return `"` + *v + `"`
	}
	return "{inbound_url:" + s(p.InboundURL) + " status_url:" + s(p.StatusURL) + " label:" + s(p.Label) + " campaign_id:" + s(p.CampaignID) + "}"
}

func describeChanges(cs []phonenumbers.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		v := "REMOVE"
		if c.Value != nil {
			v = `"` + *c.Value + `"`
		}
		parts[i] = string(c.Field) + "=" + v
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestPatchApply(t *testing.T) {
	t.Parallel()
	stored := phonenumbers.PhoneNumber{
		ID: "497f6eca-6276-4993-bfeb-53cbbbba6f08", InboundURL: ptr("https://in.example/a"), Label: ptr("line"),
		CampaignID: ptr("78614b6c-fe7c-41e2-8e25-c9b3a3c91904"), Version: 4,
	}
	tests := []struct {
		name        string
		patch       phonenumbers.Patch
		wantChanged bool
		want        func(n *phonenumbers.PhoneNumber)
	}{
		{name: "an empty patch changes nothing", patch: phonenumbers.Patch{}},
		{name: "an equal value changes nothing", patch: phonenumbers.Patch{Label: ptr("line")}},
		{name: "clearing an absent field changes nothing", patch: phonenumbers.Patch{StatusURL: ptr("")}},
		{name: "a new value changes the field", patch: phonenumbers.Patch{Label: ptr("other")}, wantChanged: true,
			want: func(n *phonenumbers.PhoneNumber) { n.Label = ptr("other") }},
		{name: "a value for an absent field sets it", patch: phonenumbers.Patch{StatusURL: ptr("https://s.example/s")}, wantChanged: true,
			want: func(n *phonenumbers.PhoneNumber) { n.StatusURL = ptr("https://s.example/s") }},
		{name: "clearing a stored field removes it", patch: phonenumbers.Patch{InboundURL: ptr("")}, wantChanged: true,
			want: func(n *phonenumbers.PhoneNumber) { n.InboundURL = nil }},
		{name: "one difference among equal values is a change", patch: phonenumbers.Patch{Label: ptr("line"),
			CampaignID: ptr("0f6b2c4a-1d3e-4f5a-8b7c-9d0e1f2a3b4c"), StatusURL: ptr("")}, wantChanged: true,
			want: func(n *phonenumbers.PhoneNumber) { n.CampaignID = ptr("0f6b2c4a-1d3e-4f5a-8b7c-9d0e1f2a3b4c") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			original := fmt.Sprintf("%+v", describeNumber(stored))
			got, changed := tt.patch.Apply(stored)
			if changed != tt.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			want := stored
			if tt.want != nil {
				tt.want(&want)
			}
			if g, w := describeNumber(got), describeNumber(want); g != w {
				t.Errorf("got %s\nwant %s", g, w)
			}
			if after := fmt.Sprintf("%+v", describeNumber(stored)); after != original {
				t.Errorf("Apply changed its argument: %s, was %s", after, original)
			}
		})
	}
}

// describeNumber shows the updatable fields and the version of n, pointers followed.
func describeNumber(n phonenumbers.PhoneNumber) string {
	s := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return fmt.Sprintf("%q", *p)
	}
	return fmt.Sprintf("inbound_url=%s status_url=%s label=%s campaign_id=%s version=%d",
		s(n.InboundURL), s(n.StatusURL), s(n.Label), s(n.CampaignID), n.Version)
}
