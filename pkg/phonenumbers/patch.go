package phonenumbers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sms-platform/phone-numbers/pkg/webhook"
)

// MaxLabelLength is the longest label accepted, in Unicode code points.
const MaxLabelLength = 255

// Field names a member of the PATCH document, as spelled on the wire.
type Field string

// The names of the updatable fields.
const (
	FieldInboundURL Field = "inbound_url"
	FieldStatusURL  Field = "status_url"
	FieldLabel      Field = "label"
	FieldCampaignID Field = "campaign_id"
)

// UpdatableField is everything the domain knows about one member a PATCH may carry: its name,
// its rule, and where a Patch holds it.
type UpdatableField struct {
	// Name is the member's name in the PATCH document and in field errors.
	Name Field
	// problem returns what is wrong with a non-null string value of the field, or "".
	problem func(value string) string
	// normalize returns a valid value in the form it is stored in; nil keeps it as sent.
	normalize func(value string) string
	// inPatch returns where a Patch holds the field.
	inPatch func(*Patch) **string
	// inNumber returns where a PhoneNumber holds the field.
	inNumber func(*PhoneNumber) **string
}

// UpdatableFields is the one table of updatable fields, in the order the API documents them.
// Adding an updatable field means one entry here (and a Patch member for it), plus the name of
// the attribute that stores it in dynamostore.
var UpdatableFields = []UpdatableField{
	{Name: FieldInboundURL, problem: webhookURLProblem,
		inPatch: func(p *Patch) **string { return &p.InboundURL }, inNumber: func(n *PhoneNumber) **string { return &n.InboundURL }},
	{Name: FieldStatusURL, problem: webhookURLProblem,
		inPatch: func(p *Patch) **string { return &p.StatusURL }, inNumber: func(n *PhoneNumber) **string { return &n.StatusURL }},
	{Name: FieldLabel, problem: LabelProblem,
		inPatch: func(p *Patch) **string { return &p.Label }, inNumber: func(n *PhoneNumber) **string { return &n.Label }},
	{Name: FieldCampaignID, problem: campaignIDProblem, normalize: normalizedUUID,
		inPatch: func(p *Patch) **string { return &p.CampaignID }, inNumber: func(n *PhoneNumber) **string { return &n.CampaignID }},
}

// In returns the field's value in p: nil when the patch leaves it unchanged, "" when it clears it.
func (f UpdatableField) In(p Patch) *string { return *f.inPatch(&p) }

// updatableField returns the entry of UpdatableFields named name.
func updatableField(name string) (UpdatableField, bool) {
	for _, f := range UpdatableFields {
		if string(f.Name) == name {
			return f, true
		}
	}
	return UpdatableField{}, false
}

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
	changes := make([]Change, 0, len(UpdatableFields))
	for _, f := range UpdatableFields {
		value := f.In(p)
		if value == nil {
			continue
		}
		c := Change{Field: f.Name}
		if *value != "" {
			c.Value = value
		}
		changes = append(changes, c)
	}
	return changes
}

// Apply returns n with the patch applied, and whether that changes a stored value: a value that
// differs from the stored one, or a clear that finds a value. A patch that changes nothing is
// answered without a write; the store's write condition asks the same question of the stored
// item, so that the two agree.
func (p Patch) Apply(n PhoneNumber) (PhoneNumber, bool) {
	changed := false
	for _, f := range UpdatableFields {
		value := f.In(p)
		if value == nil {
			continue
		}
		stored := f.inNumber(&n)
		switch {
		case *value == "" && *stored != nil:
			*stored, changed = nil, true
		case *value != "" && (*stored == nil || **stored != *value):
			v := *value
			*stored, changed = &v, true
		}
	}
	return n, changed
}

// UpdateInput is the request after every check that needs no storage has passed.
type UpdateInput struct {
	PhoneNumberID string
	Patch         Patch
	// Precondition is the If-Match the write must satisfy.
	Precondition Precondition
}

// ParseUpdateInput runs the contract's checks 3 to 8, in order, on the parts of the request that
// need no storage: the path id, then the transport's verdict on the body (req.BodyErr: its media
// type, size and encoding), then the JSON document and its members, then the transport's verdict
// on If-Match (req.PreconditionErr), then the members' values.
func ParseUpdateInput(req UpdateRequest) (UpdateInput, error) {
	normalizedID, ok := NormalizeUUID(req.PhoneNumberID)
	if !ok {
		return UpdateInput{}, &Error{
			Kind:    KindInvalidParameter,
			Message: msgValidationFailed,
			Details: map[string]string{"id": "must be a UUID"},
		}
	}
	if req.BodyErr != nil {
		return UpdateInput{}, req.BodyErr
	}
	members, err := parseObject(req.Body)
	if err != nil {
		return UpdateInput{}, err
	}
	if err := checkMemberNames(members); err != nil {
		return UpdateInput{}, err
	}
	if req.PreconditionErr != nil {
		return UpdateInput{}, req.PreconditionErr
	}
	patch, err := patchFromMembers(members)
	if err != nil {
		return UpdateInput{}, err
	}
	return UpdateInput{PhoneNumberID: normalizedID, Patch: patch, Precondition: req.Precondition}, nil
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

// checkMemberNames applies check 7: only updatable members, every unsupported one reported at
// once.
func checkMemberNames(members []member) error {
	var unsupported []string
	for _, m := range members {
		if _, ok := updatableField(m.name); !ok {
			unsupported = append(unsupported, fmt.Sprintf("%q", m.name))
		}
	}
	if len(unsupported) > 0 {
		noun := "member"
		if len(unsupported) > 1 {
			noun = "members"
		}
		return Errorf(KindInvalidInput, "unsupported %s %s; updatable members are %s",
			noun, strings.Join(unsupported, ", "), updatableList())
	}
	return nil
}

// patchFromMembers applies check 8 to members that passed check 7: every failing field value is
// reported at once.
func patchFromMembers(members []member) (Patch, error) {
	var patch Patch
	problems := map[string]string{}
	for _, m := range members {
		field, _ := updatableField(m.name)
		value, isNull, ok := stringOrNull(m.value)
		if !ok {
			problems[m.name] = "must be a string or null"
			continue
		}
		if isNull {
			continue
		}
		if problem := field.problem(value); problem != "" {
			problems[m.name] = problem
			continue
		}
		if field.normalize != nil {
			value = field.normalize(value)
		}
		*field.inPatch(&patch) = &value
	}
	if len(problems) > 0 {
		return Patch{}, validationError(problems)
	}
	return patch, nil
}

func updatableList() string {
	names := make([]string, len(UpdatableFields))
	for i, f := range UpdatableFields {
		names[i] = fmt.Sprintf("%q", f.Name)
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

// webhookURLProblem is the rule of inbound_url and status_url: "" clears the field, anything else
// must be a URL webhook.Validate accepts.
func webhookURLProblem(value string) string {
	if value == "" {
		return ""
	}
	if err := webhook.Validate(value); err != nil {
		return err.Error()
	}
	return ""
}

// campaignIDProblem is the rule of campaign_id: a UUID, never "" (detaching is a separate
// operation).
func campaignIDProblem(value string) string {
	if value == "" {
		return "must not be empty"
	}
	if _, ok := NormalizeUUID(value); !ok {
		return "must be a UUID"
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

// normalizedUUID returns a valid UUID in the lower-case form ids are stored in.
func normalizedUUID(s string) string {
	id, _ := NormalizeUUID(s)
	return id
}
