package phonenumbers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sms-platform/phone-numbers/pkg/webhook"
)

// MaxBodyBytes is the largest request body accepted, measured after base64 decoding.
const MaxBodyBytes = 16 << 10

// MaxLabelLength is the longest label accepted, in Unicode code points.
const MaxLabelLength = 255

// Field names a member of the PATCH document, as spelled on the wire.
type Field string

// The updatable fields, in the order the API documents them.
const (
	FieldInboundURL Field = "inbound_url"
	FieldStatusURL  Field = "status_url"
	FieldLabel      Field = "label"
	FieldCampaignID Field = "campaign_id"
)

// UpdatableFields lists every field a PATCH may carry.
var UpdatableFields = []Field{FieldInboundURL, FieldStatusURL, FieldLabel, FieldCampaignID}

// Patch is a validated PATCH document. A nil field is left unchanged; a pointer to "" clears the
// field (never the case for CampaignID, which cannot be cleared by PATCH).
type Patch struct {
	InboundURL *string
	StatusURL  *string
	Label      *string
	CampaignID *string
}

// Change is one field a patch touches: Value nil means the field is cleared.
type Change struct {
	Field Field
	Value *string
}

// Changes returns the fields the patch touches, in UpdatableFields order.
func (p Patch) Changes() []Change {
	changes := make([]Change, 0, 4)
	for _, f := range [...]struct {
		field Field
		value *string
	}{
		{FieldInboundURL, p.InboundURL},
		{FieldStatusURL, p.StatusURL},
		{FieldLabel, p.Label},
		{FieldCampaignID, p.CampaignID},
	} {
		if f.value == nil {
			continue
		}
		c := Change{Field: f.field}
		if *f.value != "" {
			c.Value = f.value
		}
		changes = append(changes, c)
	}
	return changes
}

// IsEmpty reports whether the patch touches no field.
func (p Patch) IsEmpty() bool {
	return p.InboundURL == nil && p.StatusURL == nil && p.Label == nil && p.CampaignID == nil
}

// UpdateInput is the request after every check that needs no storage has passed.
type UpdateInput struct {
	PhoneNumberID string
	Patch         Patch
}

// ParseUpdateInput runs the contract's checks 3 to 8, in order, on the parts of the request that
// need no storage: the path id, the Content-Type, the body size, the JSON document, its members
// and their values. hasContentType tells whether a Content-Type header was sent at all: a header
// sent with an empty value is present, and names no JSON media type. A non-empty contentType
// implies the header was sent. body is base64-encoded when isBase64 is true.
func ParseUpdateInput(id, contentType string, hasContentType bool, body string, isBase64 bool) (UpdateInput, error) {
	normalizedID, ok := NormalizeUUID(id)
	if !ok {
		return UpdateInput{}, &Error{
			Kind:    KindInvalidParameter,
			Message: msgValidationFailed,
			Details: map[string]string{"id": "must be a UUID"},
		}
	}
	if (hasContentType || contentType != "") && !isJSONMediaType(contentType) {
		return UpdateInput{}, Errorf(KindUnsupportedMediaType, "Content-Type must be application/json")
	}
	raw, err := decodeBody(body, isBase64)
	if err != nil {
		return UpdateInput{}, err
	}
	members, err := parseObject(raw)
	if err != nil {
		return UpdateInput{}, err
	}
	patch, err := patchFromMembers(members)
	if err != nil {
		return UpdateInput{}, err
	}
	return UpdateInput{PhoneNumberID: normalizedID, Patch: patch}, nil
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

func decodeBody(body string, isBase64 bool) ([]byte, error) {
	tooLarge := Errorf(KindPayloadTooLarge, "request body must be at most %d bytes", MaxBodyBytes)
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
		return nil, Errorf(KindInvalidInput, "request body is marked base64-encoded but is not valid base64")
	}
	if len(raw) > MaxBodyBytes {
		return nil, tooLarge
	}
	return raw, nil
}

// member is one name/value pair of the top-level object, value still raw JSON.
type member struct {
	name  string
	value json.RawMessage
}

// parseObject checks that raw is exactly one JSON object with unique member names and returns
// its members in document order.
func parseObject(raw []byte) ([]member, error) {
	if len(trimJSONSpace(raw)) == 0 {
		return nil, Errorf(KindInvalidInput, "request body is empty; send a JSON object")
	}
	// encoding/json silently replaces invalid UTF-8 with U+FFFD; a strict API refuses it instead.
	if !utf8.Valid(raw) {
		return nil, Errorf(KindInvalidInput, "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	notJSON := func(err error) error {
		return &Error{Kind: KindInvalidInput, Message: "request body is not valid JSON", Err: err}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, notJSON(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, Errorf(KindInvalidInput, "request body must be a JSON object")
	}
	var members []member
	seen := make(map[string]bool, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notJSON(err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, notJSON(fmt.Errorf("object key is %T", tok))
		}
		if seen[name] {
			return nil, Errorf(KindInvalidInput, "request body has duplicate member %q", name)
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, notJSON(err)
		}
		members = append(members, member{name: name, value: value})
	}
	if _, err := dec.Token(); err != nil {
		return nil, notJSON(err)
	}
	if rest := trimJSONSpace(raw[dec.InputOffset():]); len(rest) > 0 {
		return nil, Errorf(KindInvalidInput, "request body has data after the JSON object")
	}
	return members, nil
}

// trimJSONSpace trims the four whitespace bytes JSON allows. bytes.TrimSpace would also trim
// Unicode spaces such as U+00A0 and U+2028, which are not JSON whitespace, and so accept
// "{}\u00a0" although it has data after the object.
func trimJSONSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

// patchFromMembers applies check 7 (only updatable members) and check 8 (field values), reporting
// every unsupported member and every failing field at once.
func patchFromMembers(members []member) (Patch, error) {
	var unsupported []string
	for _, m := range members {
		if !isUpdatable(m.name) {
			unsupported = append(unsupported, fmt.Sprintf("%q", m.name))
		}
	}
	if len(unsupported) > 0 {
		noun := "member"
		if len(unsupported) > 1 {
			noun = "members"
		}
		return Patch{}, Errorf(KindInvalidInput, "unsupported %s %s; updatable members are %s",
			noun, strings.Join(unsupported, ", "), updatableList())
	}

	var patch Patch
	problems := map[string]string{}
	for _, m := range members {
		value, isNull, ok := stringOrNull(m.value)
		if !ok {
			problems[m.name] = "must be a string or null"
			continue
		}
		if isNull {
			continue
		}
		field := Field(m.name)
		if problem := validateValue(field, value); problem != "" {
			problems[m.name] = problem
			continue
		}
		switch field {
		case FieldInboundURL:
			patch.InboundURL = &value
		case FieldStatusURL:
			patch.StatusURL = &value
		case FieldLabel:
			patch.Label = &value
		case FieldCampaignID:
			normalized, _ := NormalizeUUID(value)
			patch.CampaignID = &normalized
		}
	}
	if len(problems) > 0 {
		return Patch{}, validationError(problems)
	}
	return patch, nil
}

func isUpdatable(name string) bool {
	for _, f := range UpdatableFields {
		if string(f) == name {
			return true
		}
	}
	return false
}

func updatableList() string {
	names := make([]string, len(UpdatableFields))
	for i, f := range UpdatableFields {
		names[i] = fmt.Sprintf("%q", f)
	}
	return strings.Join(names, ", ")
}

// stringOrNull decodes a raw JSON value that must be a string or null.
func stringOrNull(raw json.RawMessage) (value string, isNull, ok bool) {
	switch {
	case bytes.Equal(raw, []byte("null")):
		return "", true, true
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &value); err != nil {
			return "", false, false
		}
		return value, false, true
	}
	return "", false, false
}

// validateValue returns what is wrong with a non-null string value of field, or "".
func validateValue(field Field, value string) string {
	switch field {
	case FieldInboundURL, FieldStatusURL:
		if value == "" {
			return ""
		}
		if err := webhook.Validate(value); err != nil {
			return err.Error()
		}
	case FieldLabel:
		return LabelProblem(value)
	case FieldCampaignID:
		if value == "" {
			return "must not be empty"
		}
		if _, ok := NormalizeUUID(value); !ok {
			return "must be a UUID"
		}
	}
	return ""
}

// LabelProblem returns what is wrong with label as a phone number's label, or "" when it is
// acceptable: at most MaxLabelLength code points and no control characters.
func LabelProblem(label string) string {
	if utf8.RuneCountInString(label) > MaxLabelLength {
		return fmt.Sprintf("must be at most %d characters", MaxLabelLength)
	}
	if strings.IndexFunc(label, unicode.IsControl) >= 0 {
		return "must not contain control characters"
	}
	return ""
}

// NormalizeUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hexadecimal form, and
// returns it in lower case, the form ids are stored in.
func NormalizeUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
			continue
		}
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			b[i] = c + ('a' - 'A')
		default:
			return "", false
		}
	}
	return string(b), true
}

// errIs reports whether err is an *Error of kind k.
func errIs(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
