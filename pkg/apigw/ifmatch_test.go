package apigw_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// The 400 messages of a malformed If-Match.
const (
	msgIfMatchMalformed = `If-Match header must be "*" or a comma-separated list of entity-tags such as "7"`
	msgIfMatchTooLong   = "If-Match header must list at most 16 entity-tags"
)

func TestParseIfMatch(t *testing.T) {
	t.Parallel()
	many := func(n int, tag string) string { return strings.TrimSuffix(strings.Repeat(tag+", ", n), ", ") }
	tests := []struct {
		name    string
		value   string
		wantAny bool
		// wantVersions are the versions that can match, in order; nil with wantErr false means
		// a present If-Match that matches nothing.
		wantVersions []int64
		wantErr      string
	}{
		{name: "star", value: "*", wantAny: true},
		{name: "star with surrounding whitespace", value: " \t* ", wantAny: true},
		{name: "one strong tag", value: `"7"`, wantVersions: []int64{7}},
		{name: "version zero", value: `"0"`, wantVersions: []int64{0}},
		{name: "largest int64 version", value: `"9223372036854775807"`, wantVersions: []int64{1<<63 - 1}},
		{name: "a list", value: `"7", "8"`, wantVersions: []int64{7, 8}},
		{name: "a list without spaces", value: `"7","8"`, wantVersions: []int64{7, 8}},
		{name: "a list with tabs and spaces", value: "\t\"7\" \t,\t \"8\"\t", wantVersions: []int64{7, 8}},
		{name: "repeated header lines joined by API Gateway", value: `"7","8", "9"`, wantVersions: []int64{7, 8, 9}},
		{name: "empty list elements are skipped", value: `, "7",, , "8",`, wantVersions: []int64{7, 8}},
		{name: "a repeated version counts once", value: `"7", "7"`, wantVersions: []int64{7}},
		{name: "weak tag is well-formed and matches nothing", value: `W/"7"`},
		{name: "weak tags mixed with a strong one", value: `W/"7", "8", W/"9"`, wantVersions: []int64{8}},
		{name: "leading zero is not our tag", value: `"07"`},
		{name: "zero with a leading zero", value: `"00"`},
		{name: "sign is not our tag", value: `"+7"`},
		{name: "negative is not our tag", value: `"-1"`},
		{name: "empty opaque tag", value: `""`},
		{name: "letters", value: `"abc"`},
		{name: "version past int64", value: `"9223372036854775808"`},
		{name: "huge number", value: `"` + strings.Repeat("9", 400) + `"`},
		{name: "obs-text bytes", value: "\"\xc3\xa9t\xc3\xa9\""},
		{name: "every visible character but the quote", value: `"!#$%&'()*+,-./:;<=>?@[\]^_` + "`{|}~\""},
		{name: "16 tags is the limit", value: many(16, `"1"`), wantVersions: []int64{1}},
		{name: "16 distinct tags", value: many16(), wantVersions: seq(0, 16)},
		{name: "17 tags are too many", value: many(17, `"1"`), wantErr: msgIfMatchTooLong},
		{name: "17 weak tags are too many", value: many(17, `W/"1"`), wantErr: msgIfMatchTooLong},
		{name: "empty value", value: "", wantErr: msgIfMatchMalformed},
		{name: "whitespace only", value: "  ", wantErr: msgIfMatchMalformed},
		{name: "commas only", value: " , ,", wantErr: msgIfMatchMalformed},
		{name: "unquoted version", value: "7", wantErr: msgIfMatchMalformed},
		{name: "unquoted in a list", value: `"7", 8`, wantErr: msgIfMatchMalformed},
		{name: "unterminated tag", value: `"7`, wantErr: msgIfMatchMalformed},
		{name: "space inside a tag", value: `"7 8"`, wantErr: msgIfMatchMalformed},
		{name: "control character inside a tag", value: "\"7\x01\"", wantErr: msgIfMatchMalformed},
		{name: "DEL inside a tag", value: "\"7\x7f\"", wantErr: msgIfMatchMalformed},
		{name: "tags without a comma", value: `"7" "8"`, wantErr: msgIfMatchMalformed},
		{name: "tags glued together", value: `"7""8"`, wantErr: msgIfMatchMalformed},
		{name: "lower-case weak prefix", value: `w/"7"`, wantErr: msgIfMatchMalformed},
		{name: "weak prefix without slash", value: `W"7"`, wantErr: msgIfMatchMalformed},
		{name: "weak prefix alone", value: `W/`, wantErr: msgIfMatchMalformed},
		{name: "space after weak prefix", value: `W/ "7"`, wantErr: msgIfMatchMalformed},
		{name: "star in a list", value: `*, "7"`, wantErr: msgIfMatchMalformed},
		{name: "tag then star", value: `"7", *`, wantErr: msgIfMatchMalformed},
		{name: "two stars", value: `*, *`, wantErr: msgIfMatchMalformed},
		{name: "quoted star", value: `"*"`},
		{name: "single quotes", value: `'7'`, wantErr: msgIfMatchMalformed},
		{name: "trailing garbage", value: `"7";q=1`, wantErr: msgIfMatchMalformed},
		{name: "line break", value: "\"7\",\n\"8\"", wantErr: msgIfMatchMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := apigw.ParseIfMatch(tt.value)
			if tt.wantErr != "" {
				checkErr(t, err, invalidInput(tt.wantErr))
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !got.Present() {
				t.Error("Present() = false, want true: an If-Match was sent")
			}
			if got.Any != tt.wantAny {
				t.Errorf("Any = %v, want %v", got.Any, tt.wantAny)
			}
			if !slices.Equal(got.Versions, tt.wantVersions) {
				t.Errorf("Versions = %v, want %v", got.Versions, tt.wantVersions)
			}
		})
	}
}

func seq(from, to int64) []int64 {
	var s []int64
	for v := from; v < to; v++ {
		s = append(s, v)
	}
	return s
}

func many16() string {
	var tags []string
	for _, v := range seq(0, 16) {
		tags = append(tags, `"`+strconv.FormatInt(v, 10)+`"`)
	}
	return strings.Join(tags, ",")
}

// TestWeakTagsNeverMatch holds the strong comparison of contract §8: W/"7" is not "7".
func TestWeakTagsNeverMatch(t *testing.T) {
	t.Parallel()
	for _, value := range []string{`W/"7"`, `W/"0"`, `W/"7", W/"8"`} {
		p, err := apigw.ParseIfMatch(value)
		if err != nil {
			t.Fatalf("%s: got error %v, want none", value, err)
		}
		for _, version := range []int64{0, 7, 8} {
			if p.Matches(version) {
				t.Errorf("%s matches version %d, want no match", value, version)
			}
		}
	}
}

// ifMatchEvent is an event with a valid id and Content-Type, body, and the given headers.
func ifMatchEvent(body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{
		Headers:        map[string]string{"content-type": "application/json"},
		PathParameters: map[string]string{"id": numberID},
		Body:           body,
	}
	for k, v := range headers {
		ev.Headers[k] = v
	}
	return ev
}

func TestNewUpdateRequestReadsIfMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		headers map[string]string
		want    phonenumbers.Precondition
	}{
		{name: "absent If-Match is the zero precondition", headers: nil, want: phonenumbers.Precondition{}},
		{name: "lower-case name as API Gateway sends it", headers: map[string]string{"if-match": `"3"`}, want: phonenumbers.NewPrecondition(false, 3)},
		{name: "any case of the name", headers: map[string]string{"IF-MATCH": `"3"`}, want: phonenumbers.NewPrecondition(false, 3)},
		{name: "star", headers: map[string]string{"if-match": `*`}, want: phonenumbers.NewPrecondition(true)},
		{name: "If-None-Match is ignored", headers: map[string]string{"if-none-match": `"3"`}, want: phonenumbers.Precondition{}},
		{name: "If-Unmodified-Since is ignored", headers: map[string]string{"if-unmodified-since": "Sat, 01 Jan 2000 00:00:00 GMT"}, want: phonenumbers.Precondition{}},
		{name: "If-Modified-Since is ignored", headers: map[string]string{"if-modified-since": "garbage"}, want: phonenumbers.Precondition{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := apigw.NewUpdateRequest(ifMatchEvent(`{}`, tt.headers))
			if req.PreconditionErr != nil {
				t.Fatalf("got PreconditionErr %v, want none", req.PreconditionErr)
			}
			got := req.Precondition
			if got.Present() != tt.want.Present() || got.Any != tt.want.Any || !slices.Equal(got.Versions, tt.want.Versions) {
				t.Errorf("got precondition %+v, want %+v", got, tt.want)
			}
			input, err := phonenumbers.ParseUpdateInput(req)
			if err != nil {
				t.Fatalf("ParseUpdateInput: got error %v, want none", err)
			}
			if got := input.Precondition; got.Present() != tt.want.Present() || !slices.Equal(got.Versions, tt.want.Versions) {
				t.Errorf("ParseUpdateInput dropped the precondition: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestMalformedIfMatchCheckOrder places the malformed If-Match exactly where contract §8 puts it:
// after the body checks up to unsupported members (row 7), before the field values (row 8).
func TestMalformedIfMatchCheckOrder(t *testing.T) {
	t.Parallel()
	malformed := invalidInput(msgIfMatchMalformed)
	tests := []struct {
		name    string
		id      string
		headers map[string]string
		body    string
		want    wantErr
	}{
		{name: "bad id wins over a malformed If-Match", id: "nope", body: `{}`, want: idError()},
		{name: "bad Content-Type wins over a malformed If-Match", id: numberID, headers: map[string]string{"content-type": "text/plain"}, body: `{}`, want: unsupportedMediaType},
		{name: "too large body wins over a malformed If-Match", id: numberID, body: bodyOfSize(apigw.MaxBodyBytes + 1), want: payloadTooLarge},
		{name: "invalid JSON wins over a malformed If-Match", id: numberID, body: `{`, want: invalidInput(msgNotJSON)},
		{name: "unsupported member wins over a malformed If-Match", id: numberID, body: `{"number":"+1"}`, want: invalidInput(`unsupported member "number"; ` + updatableList)},
		{name: "malformed If-Match wins over bad field values", id: numberID, body: `{"inbound_url":"http://x","campaign_id":""}`, want: malformed},
		{name: "malformed If-Match on a valid body", id: numberID, body: `{"label":"x"}`, want: malformed},
		{name: "malformed If-Match on an empty patch", id: numberID, body: `{}`, want: malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := ifMatchEvent(tt.body, map[string]string{"if-match": "7"})
			ev.PathParameters["id"] = tt.id
			for k, v := range tt.headers {
				ev.Headers[k] = v
			}
			_, err := phonenumbers.ParseUpdateInput(apigw.NewUpdateRequest(ev))
			checkErr(t, err, tt.want)
		})
	}
}

// FuzzParseIfMatch holds the parser to its grammar on any input: a value it accepts is present,
// names at most MaxPreconditionTags versions, each written in the input as a strong tag exactly
// as ETag writes it; and a list of ETag-written tags always parses back to its versions.
func FuzzParseIfMatch(f *testing.F) {
	for _, seed := range []string{`*`, `"7"`, `"7", "8"`, `W/"7"`, `"07"`, `, ,"1",`, `"a""b"`, "\"\xff\"", many16()} {
		f.Add(seed, int64(7), int64(8))
	}
	f.Fuzz(func(t *testing.T, value string, v1, v2 int64) {
		p, err := apigw.ParseIfMatch(value)
		if err == nil {
			if !p.Present() {
				t.Errorf("ParseIfMatch(%q) accepted a value but is not present", value)
			}
			if len(p.Versions) > phonenumbers.MaxPreconditionTags {
				t.Errorf("ParseIfMatch(%q) named %d versions, want at most %d", value, len(p.Versions), phonenumbers.MaxPreconditionTags)
			}
			for _, v := range p.Versions {
				tag := `"` + strconv.FormatInt(v, 10) + `"`
				if v < 0 || !strings.Contains(value, tag) {
					t.Errorf("ParseIfMatch(%q) named version %d, which the value does not hold as %s", value, v, tag)
				}
			}
		}
		var want []int64
		var tags []string
		for _, v := range []int64{v1, v2} {
			if v < 0 {
				continue
			}
			tags = append(tags, `"`+strconv.FormatInt(v, 10)+`"`)
			if !slices.Contains(want, v) {
				want = append(want, v)
			}
		}
		if len(tags) == 0 {
			return
		}
		p, err = apigw.ParseIfMatch(strings.Join(tags, " ,\t"))
		if err != nil || !slices.Equal(p.Versions, want) {
			t.Errorf("ParseIfMatch(%v) = %v, %v; want versions %v", tags, p.Versions, err, want)
		}
	})
}
