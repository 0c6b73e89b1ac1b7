package apigw_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/webhook"
)

// parseKinds are the only error kinds decoding and parsing a request may return: everything they
// check is about the request itself, never about storage.
var parseKinds = map[phonenumbers.Kind]bool{
	phonenumbers.KindInvalidParameter:     true,
	phonenumbers.KindUnsupportedMediaType: true,
	phonenumbers.KindPayloadTooLarge:      true,
	phonenumbers.KindInvalidInput:         true,
	phonenumbers.KindValidationFailed:     true,
}

// fuzzBodies is a spread of bodies from the contract's tables: valid ones, one per kind of
// malformed document, and one per field rule.
var fuzzBodies = []string{
	// Valid documents.
	`{}`,
	`{"inbound_url":null,"status_url":null,"label":null,"campaign_id":null}`,
	`{"inbound_url":"https://customer.example/v2/inbound","status_url":"https://customer.example/status","label":"support-line","campaign_id":"` + campaignID + `"}`,
	`{"inbound_url":"","status_url":"","label":""}`,
	`{"campaign_id":"` + strings.ToUpper(campaignID) + `"}`,
	`{"label":"caf\u00e9 \"A\" \u2028 <&>"}`,
	`{"label":"` + strings.Repeat("😀", phonenumbers.MaxLabelLength) + `"}`,
	`{"inbound_url":"https://[2001:4860:4860::8888]:8443/in?x=1#f"}`,
	" {\n\t\"label\" :  null ,\r\n \"inbound_url\"\t:\"\" } \n",
	// Check 6: not one JSON object.
	``,
	" \t\r\n",
	"\u00a0",
	`label=support`,
	`{"label":"x"`,
	`{"label":"x",}`,
	`{'label':'x'}`,
	"\ufeff{}",
	`[{"label":"x"}]`,
	`null`,
	`{}{}`,
	"{}\u2028",
	`{"label":"x"} garbage`,
	"{\"label\":\"\xff\xfe\"}",
	"{\"label\":\"\xed\xa0\x80\"}",
	`{"label":"a","label":"b"}`,
	`{"label":"a","l\u0061bel":"b"}`,
	`{"label":` + strings.Repeat("[", 10_001),
	// Check 7: unsupported members.
	`{"number":"+14155550123"}`,
	`{"id":"x","label":"ok","sms_enabled":true,"org_id":"y"}`,
	`{"Label":"x"}`,
	`{"a\"b\n":1}`,
	// Check 8: field values.
	`{"campaign_id":""}`,
	`{"campaign_id":"campaign-1"}`,
	`{"campaign_id":["` + campaignID + `"]}`,
	`{"inbound_url":1,"status_url":false,"label":{"text":"x"}}`,
	`{"inbound_url":"http://customer.example/in"}`,
	`{"status_url":"https://169.254.169.254/latest/meta-data/"}`,
	`{"inbound_url":"https://[::ffff:127.0.0.1]/"}`,
	`{"inbound_url":"https://0x7f.1/"}`,
	`{"inbound_url":"https://evil.example\\@127.0.0.1/"}`,
	`{"status_url":"https://user:pass@customer.example/"}`,
	`{"status_url":"https://printer.local/"}`,
	`{"inbound_url":"https://customer.example/` + strings.Repeat("a", webhook.MaxLength) + `"}`,
	`{"label":"` + strings.Repeat("a", phonenumbers.MaxLabelLength+1) + `"}`,
	`{"label":"line\nbreak"}`,
	`{"label":"a\u0085b"}`,
	`{"inbound_url":"http://customer.example/","status_url":7,"label":"a\u0000","campaign_id":""}`,
}

func FuzzParseUpdateInput(f *testing.F) {
	for _, body := range fuzzBodies {
		f.Add(numberID, "application/json", body, false)
		f.Add(numberID, "", b64(body), true)
	}
	// The checks before the body: path id, Content-Type and size, in the contract's order.
	for _, seed := range []struct {
		id, contentType, body string
		isBase64              bool
	}{
		{strings.ToUpper(numberID), "application/merge-patch+json; charset=utf-8", `{"label":"x"}`, false},
		{"", "application/json", `{}`, false},
		{"{" + numberID + "}", "application/json", `{}`, false},
		{"../../../../etc/passwd", "text/plain", "x", false},
		{"497f6eca-6276-4993-bfeb-53cbbbba6f0٨", "", `{}`, false},
		{numberID, "text/plain", `{"label":"x"}`, false},
		{numberID, "application/+json", `{}`, false},
		{numberID, "application/json; charset", `{}`, false},
		{numberID, "APPLICATION/JSON", `{}`, false},
		{numberID, "application/json", bodyOfSize(apigw.MaxBodyBytes), false},
		{numberID, "application/json", bodyOfSize(apigw.MaxBodyBytes + 1), false},
		{numberID, "application/json", b64(bodyOfSize(apigw.MaxBodyBytes)), true},
		{numberID, "application/json", b64(bodyOfSize(apigw.MaxBodyBytes + 1)), true},
		{numberID, "application/json", `{"label":"x"}`, true},
		{numberID, "application/json", "eyJ9=", true},
		{numberID, "application/json", "e30", true},
		{numberID, "application/json", "eyJs\r\nYWJlbCI6\nInN1cHBvcnQtbGluZSJ9\n", true},
		{numberID, "application/json", "e30=" + strings.Repeat("\n", apigw.MaxBodyBytes), true},
	} {
		f.Add(seed.id, seed.contentType, seed.body, seed.isBase64)
	}

	f.Fuzz(func(t *testing.T, id, contentType, body string, isBase64 bool) {
		got, err := parseEvent(id, contentType, contentType != "", body, isBase64)
		_, idOK := phonenumbers.NormalizeUUID(id)
		if err != nil {
			checkParseError(t, err, id, idOK, contentType, body, isBase64)
			return
		}

		if !idOK || got.PhoneNumberID != strings.ToLower(id) || !isLowerUUID(got.PhoneNumberID) {
			t.Fatalf("parseEvent(%q) accepted id %q, want %q as a lower-case canonical UUID", id, got.PhoneNumberID, strings.ToLower(id))
		}
		checkPatchRules(t, got.Patch)
		raw := []byte(body)
		if isBase64 {
			raw, err = base64.StdEncoding.DecodeString(body)
			if err != nil {
				t.Fatalf("accepted a body marked base64 that is not base64: %v", err)
			}
		}
		if len(raw) > apigw.MaxBodyBytes {
			t.Fatalf("accepted a body of %d bytes", len(raw))
		}
		checkAgreesWithEncodingJSON(t, raw, got.Patch)

		// Re-encoding the patch and parsing it again gives the same patch, plain and base64.
		encoded := encodePatch(t, got.Patch)
		for _, again := range []struct {
			body     string
			isBase64 bool
		}{{string(encoded), false}, {b64(string(encoded)), true}} {
			reparsed, err := parseEvent(got.PhoneNumberID, "application/json", true, again.body, again.isBase64)
			if err != nil {
				t.Fatalf("re-parsing %s (base64 %v) of patch %s: got error %v, want none", encoded, again.isBase64, describePatch(got.Patch), err)
			}
			if reparsed.PhoneNumberID != got.PhoneNumberID || !reflect.DeepEqual(reparsed.Patch, got.Patch) {
				t.Fatalf("round trip through %s changed the input: got %q %s, want %q %s",
					encoded, reparsed.PhoneNumberID, describePatch(reparsed.Patch), got.PhoneNumberID, describePatch(got.Patch))
			}
		}
	})
}

// checkParseError asserts that a refusal is a client-facing *phonenumbers.Error of a kind the
// parser can produce, consistent with the contract's check order.
func checkParseError(t *testing.T, err error, id string, idOK bool, contentType, body string, isBase64 bool) {
	t.Helper()
	e, ok := err.(*phonenumbers.Error)
	if !ok {
		t.Fatalf("got error %v (%T), want *phonenumbers.Error", err, err)
	}
	if !parseKinds[e.Kind] {
		t.Fatalf("got kind %v (%v), want one of the parser's kinds", e.Kind, err)
	}
	if e.Message == "" {
		t.Fatalf("got kind %v with an empty client message", e.Kind)
	}
	switch e.Kind {
	case phonenumbers.KindInvalidParameter:
		if idOK {
			t.Fatalf("refused UUID path id %q", id)
		}
		if !reflect.DeepEqual(e.Details, map[string]string{"id": "must be a UUID"}) {
			t.Fatalf("got id details %v", e.Details)
		}
	case phonenumbers.KindValidationFailed:
		if e.Message != "validation failed" || len(e.Details) == 0 {
			t.Fatalf("got validation error %q with details %v, want one detail per failing field", e.Message, e.Details)
		}
		for name, problem := range e.Details {
			if !isUpdatableName(name) || problem == "" {
				t.Fatalf("got detail %q: %q, want an updatable field and a problem", name, problem)
			}
		}
	default:
		if e.Details != nil {
			t.Fatalf("got details %v on kind %v, want none", e.Details, e.Kind)
		}
	}
	// The checks run in the contract's order: a bad id hides everything else, and a check is
	// reported only when it actually fails.
	if !idOK && e.Kind != phonenumbers.KindInvalidParameter {
		t.Fatalf("path id %q is not a UUID but got kind %v", id, e.Kind)
	}
	if e.Kind == phonenumbers.KindUnsupportedMediaType && contentType == "" {
		t.Fatalf("got unsupported media type without a Content-Type")
	}
	if e.Kind == phonenumbers.KindPayloadTooLarge {
		raw, err := []byte(body), error(nil)
		if isBase64 {
			// Invalid base64 may be refused as too large from its length alone.
			raw, err = base64.StdEncoding.DecodeString(body)
		}
		if err == nil && len(raw) <= apigw.MaxBodyBytes {
			t.Fatalf("got payload too large for a body of %d bytes", len(raw))
		}
	}
}

// checkPatchRules asserts the contract's field rules on every value an accepted patch carries.
func checkPatchRules(t *testing.T, p phonenumbers.Patch) {
	t.Helper()
	for name, v := range map[string]*string{"inbound_url": p.InboundURL, "status_url": p.StatusURL} {
		if v != nil && *v != "" {
			if err := webhook.Validate(*v); err != nil {
				t.Fatalf("accepted %s %q that webhook.Validate refuses: %v", name, *v, err)
			}
		}
	}
	if p.Label != nil {
		if !utf8.ValidString(*p.Label) || utf8.RuneCountInString(*p.Label) > phonenumbers.MaxLabelLength || strings.IndexFunc(*p.Label, unicode.IsControl) >= 0 {
			t.Fatalf("accepted label %q", *p.Label)
		}
	}
	if p.CampaignID != nil && !isLowerUUID(*p.CampaignID) {
		t.Fatalf("accepted campaign_id %q, want a lower-case UUID", *p.CampaignID)
	}
	present := 0
	for _, v := range []*string{p.InboundURL, p.StatusURL, p.Label, p.CampaignID} {
		if v != nil {
			present++
		}
	}
	if len(p.Changes()) != present {
		t.Fatalf("patch %s has %d changes, want %d", describePatch(p), len(p.Changes()), present)
	}
}

// checkAgreesWithEncodingJSON compares an accepted patch with what encoding/json reads from the
// same body: the same members, null meaning absent, and the same string values.
func checkAgreesWithEncodingJSON(t *testing.T, raw []byte, p phonenumbers.Patch) {
	t.Helper()
	var doc map[string]*string
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("accepted body %q that encoding/json cannot read as an object of strings: %v", raw, err)
	}
	for name := range doc {
		if !isUpdatableName(name) {
			t.Fatalf("accepted body %q with member %q", raw, name)
		}
	}
	campaign := doc["campaign_id"]
	if campaign != nil {
		lower := strings.ToLower(*campaign)
		campaign = &lower
	}
	want := phonenumbers.Patch{InboundURL: doc["inbound_url"], StatusURL: doc["status_url"], Label: doc["label"], CampaignID: campaign}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("parsed %q as %s, encoding/json reads %s", raw, describePatch(p), describePatch(want))
	}
}

// encodePatch writes p as the JSON document a client would send for it. HTML escaping is off so
// that the document stays within MaxBodyBytes whatever characters the values hold.
func encodePatch(t *testing.T, p phonenumbers.Patch) []byte {
	t.Helper()
	doc := map[string]*string{}
	for name, v := range map[string]*string{"inbound_url": p.InboundURL, "status_url": p.StatusURL, "label": p.Label, "campaign_id": p.CampaignID} {
		if v != nil {
			doc[name] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatalf("encode patch: %v", err)
	}
	return buf.Bytes()
}

func isUpdatableName(name string) bool {
	for _, f := range phonenumbers.UpdatableFields {
		if string(f.Name) == name {
			return true
		}
	}
	return false
}

// isLowerUUID reports whether s is a UUID in canonical 8-4-4-4-12 form with lower-case hex digits.
func isLowerUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
