package phonenumbers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// random returns n characters of the secret alphabet [A-Za-z0-9].
func random(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	for i := range n {
		b.WriteByte(alphabet[(i*7+3)%len(alphabet)])
	}
	return b.String()
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	secret32 := "am_live_" + random(32)
	secret64 := "am_live_" + random(64)
	tests := []struct {
		name       string
		header     string
		wantSecret string // "" means the header must be refused
	}{
		// Well-formed headers.
		{name: "accepts Bearer with one space", header: "Bearer " + secret32, wantSecret: secret32},
		{name: "accepts lower-case scheme", header: "bearer " + secret32, wantSecret: secret32},
		{name: "accepts upper-case scheme", header: "BEARER " + secret32, wantSecret: secret32},
		{name: "accepts mixed-case scheme", header: "bEaReR " + secret32, wantSecret: secret32},
		{name: "accepts several spaces after the scheme", header: "Bearer    " + secret32, wantSecret: secret32},
		{name: "accepts 32-character random part", header: "Bearer " + secret32, wantSecret: secret32},
		{name: "accepts 64-character random part", header: "Bearer " + secret64, wantSecret: secret64},
		{name: "accepts all-digit random part", header: "Bearer am_live_" + strings.Repeat("7", 40), wantSecret: "am_live_" + strings.Repeat("7", 40)},

		// Scheme and separator.
		{name: "refuses empty header", header: ""},
		{name: "refuses secret without scheme", header: secret32},
		{name: "refuses scheme without secret", header: "Bearer"},
		{name: "refuses scheme and space without secret", header: "Bearer "},
		{name: "refuses scheme and spaces without secret", header: "Bearer    "},
		{name: "refuses tab as separator", header: "Bearer\t" + secret32},
		{name: "refuses space then tab as separator", header: "Bearer \t" + secret32},
		{name: "refuses no separator", header: "Bearer" + secret32},
		{name: "refuses colon separator", header: "Bearer:" + secret32},
		{name: "refuses Basic scheme with a secret", header: "Basic " + secret32},
		{name: "refuses Basic credentials", header: "Basic YW1fbGl2ZV86cGFzc3dvcmQ="},
		{name: "refuses Token scheme", header: "Token " + secret32},
		{name: "refuses scheme prefix lookalike", header: "Bearerx " + secret32},
		{name: "refuses non-breaking space as separator", header: "Bearer\u00a0" + secret32},

		// Secret shape.
		{name: "refuses 31-character random part", header: "Bearer am_live_" + random(31)},
		{name: "refuses 65-character random part", header: "Bearer am_live_" + random(65)},
		{name: "refuses prefix alone", header: "Bearer am_live_"},
		{name: "refuses test prefix", header: "Bearer am_test_" + random(32)},
		{name: "refuses upper-case prefix", header: "Bearer AM_LIVE_" + random(32)},
		{name: "refuses prefix without underscore", header: "Bearer am_live" + random(33)},
		{name: "refuses foreign prefix", header: "Bearer sk_live_" + random(32)},
		{name: "refuses hyphen in random part", header: "Bearer am_live_" + random(31) + "-"},
		{name: "refuses underscore in random part", header: "Bearer am_live_" + random(16) + "_" + random(16)},
		{name: "refuses base64 characters in random part", header: "Bearer am_live_" + random(30) + "+/"},
		{name: "refuses non-ASCII letter in random part", header: "Bearer am_live_" + random(31) + "é"},
		{name: "refuses fullwidth digit in random part", header: "Bearer am_live_" + random(31) + "１"},
		{name: "refuses quoted secret", header: `Bearer "` + secret32 + `"`},

		// Junk around the credentials.
		{name: "refuses leading space", header: " Bearer " + secret32},
		{name: "refuses leading junk", header: "x Bearer " + secret32},
		{name: "refuses trailing space", header: "Bearer " + secret32 + " "},
		{name: "refuses trailing newline", header: "Bearer " + secret32 + "\n"},
		{name: "refuses trailing CRLF", header: "Bearer " + secret32 + "\r\n"},
		{name: "refuses trailing word", header: "Bearer " + secret32 + " extra"},
		{name: "refuses trailing semicolon", header: "Bearer " + secret32 + ";"},
		{name: "refuses NUL inside", header: "Bearer " + secret32[:20] + "\x00" + secret32[20:]},
		{name: "refuses comma-joined duplicate headers", header: "Bearer " + secret32 + ", Bearer " + secret64},
		{name: "refuses comma-joined duplicates without space", header: "Bearer " + secret32 + ",Bearer " + secret32},
		{name: "refuses two secrets", header: "Bearer " + secret32 + " " + secret64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := phonenumbers.ParseAuthorization(tt.header)
			if tt.wantSecret == "" {
				if ok {
					t.Errorf("ParseAuthorization(%q) accepted the header, want it refused", tt.header)
				}
				if got.Reveal() != "" {
					t.Errorf("got secret of length %d from a refused header, want the zero Secret", len(got.Reveal()))
				}
				return
			}
			if !ok {
				t.Fatalf("ParseAuthorization(%q) refused the header, want it accepted", tt.header)
			}
			if got.Reveal() != tt.wantSecret {
				t.Errorf("got secret %q, want %q", got.Reveal(), tt.wantSecret)
			}
		})
	}
}

// credentials holds a secret the way request-scoped structs might, exported and not.
type credentials struct {
	Key    phonenumbers.Secret `json:"key"`
	hidden phonenumbers.Secret
	Ptr    *phonenumbers.Secret `json:"ptr"`
}

func TestSecretNeverPrintsItsValue(t *testing.T) {
	t.Parallel()
	raw := "am_live_" + random(40)
	secret, ok := phonenumbers.ParseSecret(raw)
	if !ok {
		t.Fatalf("ParseSecret(%q) refused a well-formed secret", raw)
	}
	holder := credentials{Key: secret, hidden: secret, Ptr: &secret}
	// The random part alone must not appear either: a printer may drop or escape the prefix.
	needles := []string{raw, raw[len(phonenumbers.SecretPrefix):], raw[len(phonenumbers.SecretPrefix) : len(phonenumbers.SecretPrefix)+12]}

	jsonLog := func(args ...any) string {
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("request", args...)
		return buf.String()
	}
	textLog := func(args ...any) string {
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("request", args...)
		return buf.String()
	}
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		return string(b)
	}

	tests := []struct {
		name     string
		output   string
		wantText string // a fragment the output must contain, "" for none
	}{
		{name: "fmt %v", output: fmt.Sprintf("%v", secret), wantText: "[redacted]"},
		{name: "fmt %s", output: fmt.Sprintf("%s", secret), wantText: "[redacted]"},
		{name: "fmt %+v", output: fmt.Sprintf("%+v", secret), wantText: "[redacted]"},
		{name: "fmt %#v", output: fmt.Sprintf("%#v", secret), wantText: "[redacted]"},
		{name: "fmt %q", output: fmt.Sprintf("%q", secret), wantText: "[redacted]"},
		{name: "fmt Sprint", output: fmt.Sprint(secret), wantText: "[redacted]"},
		{name: "fmt Println", output: fmt.Sprintln(secret), wantText: "[redacted]"},
		{name: "fmt %d", output: fmt.Sprintf(verbD, secret)},
		{name: "fmt %x", output: fmt.Sprintf(verbX, secret)},
		{name: "fmt %d of struct holding it", output: fmt.Sprintf(verbD, holder)},
		{name: "fmt %v of pointer", output: fmt.Sprintf("%v", &secret), wantText: "[redacted]"},
		{name: "fmt %v of struct holding it", output: fmt.Sprintf("%v", holder), wantText: "[redacted]"},
		{name: "fmt %+v of struct holding it", output: fmt.Sprintf("%+v", holder), wantText: "[redacted]"},
		{name: "fmt %#v of struct holding it", output: fmt.Sprintf("%#v", holder), wantText: "[redacted]"},
		{name: "fmt %+v of pointer to struct holding it", output: fmt.Sprintf("%+v", &holder), wantText: "[redacted]"},
		{name: "fmt %v of slice", output: fmt.Sprintf("%v", []phonenumbers.Secret{secret}), wantText: "[redacted]"},
		{name: "fmt %v of map", output: fmt.Sprintf("%v", map[string]phonenumbers.Secret{"k": secret}), wantText: "[redacted]"},
		{name: "error wrapping it", output: fmt.Errorf("authenticate %v: %w", secret, errors.New("boom")).Error(), wantText: "[redacted]"},
		{name: "slog JSON handler attribute", output: jsonLog("secret", secret), wantText: `"secret":"[redacted]"`},
		{name: "slog JSON handler slog.Any", output: jsonLog(slog.Any("secret", secret)), wantText: `"secret":"[redacted]"`},
		{name: "slog JSON handler struct holding it", output: jsonLog("creds", holder), wantText: `"key":"[redacted]"`},
		{name: "slog JSON handler group", output: jsonLog(slog.Group("auth", slog.Any("secret", secret))), wantText: `"auth":{"secret":"[redacted]"}`},
		{name: "slog text handler attribute", output: textLog("secret", secret), wantText: "secret=[redacted]"},
		{name: "slog text handler struct holding it", output: textLog("creds", holder)},
		{name: "json.Marshal of the secret", output: marshal(secret), wantText: `"[redacted]"`},
		{name: "json.Marshal of struct holding it", output: marshal(holder), wantText: `{"key":"[redacted]","ptr":"[redacted]"}`},
		{name: "json.Marshal of map", output: marshal(map[string]phonenumbers.Secret{"k": secret}), wantText: `{"k":"[redacted]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, needle := range needles {
				if strings.Contains(tt.output, needle) {
					t.Errorf("output %q contains the secret (%q)", tt.output, needle)
				}
			}
			if !strings.Contains(tt.output, tt.wantText) {
				t.Errorf("got output %q, want it to contain %q", tt.output, tt.wantText)
			}
		})
	}
}

// Formats that do not suit a Secret are variables, not constants, so that vet's printf check lets
// the tests try them: a careless caller may well use them.
var verbD, verbX = "%d", "%x"

func TestSecretRevealReturnsTheValue(t *testing.T) {
	t.Parallel()
	raw := "am_live_" + random(32)
	tests := []struct {
		name   string
		secret phonenumbers.Secret
		want   string
	}{
		{name: "parsed secret reveals its value", secret: mustParseSecret(t, raw), want: raw},
		{name: "wrapped secret reveals its value", secret: phonenumbers.NewSecret(raw), want: raw},
		{name: "zero secret reveals nothing", secret: phonenumbers.Secret{}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.secret.Reveal(); got != tt.want {
				t.Errorf("got Reveal() %q, want %q", got, tt.want)
			}
			if got := tt.secret.String(); got != "[redacted]" {
				t.Errorf("got String() %q, want %q", got, "[redacted]")
			}
		})
	}
}

func mustParseSecret(t *testing.T, raw string) phonenumbers.Secret {
	t.Helper()
	s, ok := phonenumbers.ParseSecret(raw)
	if !ok {
		t.Fatalf("ParseSecret(%q) refused a well-formed secret", raw)
	}
	return s
}

func TestUpdateRequestNeverPrintsItsCredentialsOrBody(t *testing.T) {
	t.Parallel()
	const secret = "am_live_hHXcehB3VI3Z8RXHOOiVyw8ZGNXksFuA0Wn16LK6"
	req := phonenumbers.UpdateRequest{
		Authorization: "Bearer " + secret,
		PhoneNumberID: "497f6eca-6276-4993-bfeb-53cbbbba6f08",
		ContentType:   "application/json",
		Body:          `{"label":"` + secret + `"}`,
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("request", slog.Any("req", req))
	slog.New(slog.NewTextHandler(&logs, nil)).Info("request", slog.Any("req", req))
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", req),
		"%+v":  fmt.Sprintf("%+v", req),
		"%#v":  fmt.Sprintf("%#v", req),
		"%s":   fmt.Sprintf("%s", req),
		"%q":   fmt.Sprintf("%q", req),
		"%x":   fmt.Sprintf("%x", req),
		"slog": logs.String(),
		"nested %+v": fmt.Sprintf("%+v", struct {
			Req phonenumbers.UpdateRequest
		}{req}),
	}
	for how, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("%s printed the secret: %s", how, out)
		}
		if !strings.Contains(out, "497f6eca-6276-4993-bfeb-53cbbbba6f08") {
			t.Errorf("%s lost the phone number id, which is safe to print: %s", how, out)
		}
	}
}
