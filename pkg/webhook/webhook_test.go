package webhook

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Expected messages, spelled out rather than reusing the package's error
// variables so that an accidental change to client-visible text fails here.
const (
	msgTooLong     = "must be at most 2048 bytes"
	msgUTF8        = "must be valid UTF-8"
	msgControl     = "must not contain spaces or control characters"
	msgScheme      = "must use https://"
	msgBackslash   = "must not contain backslashes"
	msgNotAbsolute = "must be an absolute URL"
	msgUserInfo    = "must not contain user info"
	msgNoHost      = "must have a host"
	msgPort        = "port is invalid"
	msgHostPercent = "host must not be percent-encoded"
	msgInvalidHost = "host is not a valid hostname"
	msgNotPublic   = "host must be publicly routable"
	msgInvalidURL  = "must be a valid URL"
)

var allMessages = []string{
	msgTooLong, msgUTF8, msgControl, msgScheme, msgBackslash, msgNotAbsolute, msgUserInfo,
	msgNoHost, msgPort, msgHostPercent, msgInvalidHost, msgNotPublic, msgInvalidURL,
}

type validateCase struct {
	name string
	raw  string
	want string // "" means the URL must be accepted
}

var (
	label63    = strings.Repeat("a", 63)
	host253    = strings.Repeat(label63+".", 3) + strings.Repeat("b", 61) // 3*64 + 61 = 253
	exactlyMax = "https://example.com/" + strings.Repeat("a", MaxLength-len("https://example.com/"))
)

var validateCases = []validateCase{
	// Ordinary URLs customers send.
	{"accepts plain https host", "https://example.com", ""},
	{"accepts path", "https://example.com/webhooks/inbound", ""},
	{"accepts query and fragment", "https://example.com/hook?token=abc&x=1#frag", ""},
	{"accepts query without path", "https://example.com?x=1", ""},
	{"accepts non-default port", "https://example.com:8443/x", ""},
	{"accepts explicit port 443", "https://example.com:443/", ""},
	{"accepts lowest port", "https://example.com:1/", ""},
	{"accepts highest port", "https://example.com:65535/", ""},
	{"accepts port with leading zeros", "https://example.com:000443/", ""},
	{"accepts upper-case scheme", "HTTPS://example.com/", ""},
	{"accepts mixed-case scheme and host", "HtTpS://Example.COM/Path", ""},
	{"accepts fully qualified name with trailing dot", "https://example.com./", ""},
	{"accepts deep subdomain", "https://a.b.c.example.co.uk/", ""},
	{"accepts hyphenated labels", "https://my-app.example-host.com/", ""},
	{"accepts numeric non-final label", "https://123.example.com/", ""},
	{"accepts dotted-quad prefix on a public name", "https://1.2.3.4.example.com/", ""},
	{"accepts localhost as a non-final label", "https://localhost.example.com/", ""},
	{"accepts documentation TLD", "https://hooks.example/", ""},
	{"accepts example.org", "https://example.org/", ""},
	{"accepts special-use words as non-final labels", "https://test.onion.svc.consul.example.com/", ""},
	{"accepts names that merely end in a special-use word", "https://mytest.com/", ""},
	{"accepts TLDs that merely start with a special-use word", "https://example.testing/", ""},
	{"accepts arpa label inside a public name", "https://in-addr.arpa.example.com/", ""},
	{"accepts at-sign in path", "https://example.com/users/@me", ""},
	{"accepts at-sign in query", "https://example.com/?to=@127.0.0.1", ""},
	{"accepts percent-encoding in path", "https://example.com/a%20b", ""},
	{"accepts non-ASCII path", "https://example.com/ünïcode", ""},
	{"accepts 63-byte label", "https://" + label63 + ".example.com/", ""},
	{"accepts 253-byte hostname", "https://" + host253 + "/", ""},
	{"accepts URL of exactly MaxLength bytes", exactlyMax, ""},
	{"accepts Unicode IDN", "https://bücher.example/", ""},
	{"accepts punycode IDN", "https://xn--bcher-kva.example/", ""},
	{"accepts upper-case Unicode IDN", "https://BÜCHER.example/", ""},
	{"accepts public IPv4 literal", "https://93.184.216.34/", ""},
	{"accepts public IPv4 literal with port", "https://93.184.216.34:8443/hook", ""},
	{"accepts public IPv4 in decimal form", "https://134744072/", ""}, // 8.8.8.8
	{"accepts public IPv6 literal", "https://[2606:4700::1111]/", ""},
	{"accepts public IPv6 literal with port", "https://[2606:4700::1111]:443/", ""},
	{"accepts IPv4-mapped public address", "https://[::ffff:93.184.216.34]/", ""},
	{"accepts NAT64 of public address", "https://[64:ff9b::5db8:d822]/", ""},
	{"accepts address just below CGNAT", "https://100.63.255.255/", ""},
	{"accepts address just above CGNAT", "https://100.128.0.0/", ""},
	{"accepts address just below 172.16/12", "https://172.15.255.255/", ""},
	{"accepts address just above 172.16/12", "https://172.32.0.0/", ""},
	{"accepts address just above benchmarking range", "https://198.20.0.0/", ""},
	{"accepts top of unicast IPv4", "https://223.255.255.254/", ""},
	// Names that resolve privately through public DNS cannot be caught
	// without a lookup; the delivery client's dial-time check owns them.
	{"leaves DNS-based private names to dial-time checks", "https://127.0.0.1.nip.io/", ""},

	// Length and encoding.
	{"rejects URL one byte over MaxLength", exactlyMax + "a", msgTooLong},
	{"rejects invalid UTF-8", "https://example.com/\xff", msgUTF8},

	// Spaces and control characters, anywhere.
	{"rejects space in host", "https://exa mple.com/", msgControl},
	{"rejects space in path", "https://example.com/a b", msgControl},
	{"rejects leading space", " https://example.com/", msgControl},
	{"rejects trailing space", "https://example.com/ ", msgControl},
	{"rejects tab", "https://example.com/\tx", msgControl},
	{"rejects tab inside scheme", "ht\ttps://example.com/", msgControl},
	{"rejects CRLF header injection", "https://example.com/\r\nHost: 127.0.0.1", msgControl},
	{"rejects lone LF", "https://example.com\n/", msgControl},
	{"rejects NUL", "https://example.com\x00.evil.com/", msgControl},
	{"rejects DEL", "https://example.com/\x7f", msgControl},
	{"rejects C1 NEL", "https://example.com/\u0085", msgControl},
	{"rejects C1 CSI", "https://example.com/\u009b", msgControl},
	{"rejects no-break space", "https://example.com/\u00a0", msgControl},
	{"rejects ideographic space", "https://example.com/\u3000", msgControl},
	{"rejects line separator", "https://example.com/\u2028", msgControl},
	{"rejects zero-width space in host", "https://exam\u200bple.com/", msgControl},
	{"rejects byte-order mark", "\ufeffhttps://example.com/", msgControl},
	{"rejects right-to-left override", "https://example.com/\u202egpj", msgControl},
	{"rejects soft hyphen that IDNA would drop", "https://local\u00adhost/", msgControl},

	// Scheme.
	{"rejects http", "http://example.com/", msgScheme},
	{"rejects http localhost with scheme message first", "http://localhost/", msgScheme},
	{"rejects ftp", "ftp://example.com/", msgScheme},
	{"rejects websocket scheme", "wss://example.com/", msgScheme},
	{"rejects missing scheme", "example.com/hook", msgScheme},
	{"rejects scheme-relative URL", "//example.com/hook", msgScheme},
	{"rejects scheme with extra letter", "httpss://example.com/", msgScheme},
	{"rejects scheme without colon", "https//example.com/", msgScheme},
	{"rejects javascript URL", "javascript:alert(1)", msgScheme},
	{"rejects file URL", "file:///etc/passwd", msgScheme},
	{"rejects gopher smuggling", "gopher://127.0.0.1:6379/_FLUSHALL", msgScheme},
	{"rejects long-s lookalike scheme", "httpſ://example.com/", msgScheme},
	{"rejects bare scheme-like word", "https", msgScheme},
	{"rejects fullwidth scheme", "ｈｔｔｐｓ://example.com/", msgScheme},

	// Backslashes, which WHATWG parsers read as slashes.
	{"rejects backslash user-info trick", `https://evil.com\@127.0.0.1/`, msgBackslash},
	{"rejects backslashes instead of slashes", `https:\\example.com\`, msgBackslash},
	{"rejects backslash in path", `https://example.com/a\b`, msgBackslash},

	// Not of the form https://authority.
	{"rejects opaque https URL", "https:example.com", msgNotAbsolute},
	{"rejects single-slash https URL", "https:/example.com", msgNotAbsolute},
	{"rejects bare scheme", "https:", msgNotAbsolute},

	// Host presence.
	{"rejects empty authority", "https://", msgNoHost},
	{"rejects triple slash", "https:///example.com", msgNoHost},
	{"rejects port without host", "https://:8443/", msgNoHost},
	{"rejects query without host", "https://?q=1", msgNoHost},

	// User info.
	{"rejects user and password", "https://user:pass@example.com/", msgUserInfo},
	{"rejects user only", "https://user@example.com/", msgUserInfo},
	{"rejects empty user info", "https://@example.com/", msgUserInfo},
	{"rejects public-looking user info before private host", "https://example.com@127.0.0.1/", msgUserInfo},
	{"rejects private-looking user info before public host", "https://127.0.0.1@example.com/", msgUserInfo},
	{"rejects multiple at-signs", "https://a@b@example.com/", msgUserInfo},

	// Ports.
	{"rejects non-numeric port", "https://example.com:abc/", msgPort},
	{"rejects port zero", "https://example.com:0/", msgPort},
	{"rejects port above 65535", "https://example.com:65536/", msgPort},
	{"rejects empty port", "https://example.com:/", msgPort},
	{"rejects negative port", "https://example.com:-1/", msgPort},
	{"rejects overflowing port", "https://example.com:99999999999999999999/", msgPort},
	{"rejects non-numeric port on IPv6 literal", "https://[2606:4700::1111]:x/", msgPort},
	{"rejects non-ASCII port digits", "https://example.com:４４３/", msgPort},

	// Percent-encoded hosts.
	{"rejects percent-encoded localhost", "https://%6c%6f%63%61%6c%68%6f%73%74/", msgHostPercent},
	{"rejects percent-encoded IPv4 digit", "https://127.0.0.%31/", msgHostPercent},
	{"rejects percent-encoded IDN", "https://b%C3%BCcher.example/", msgHostPercent},

	// Reserved and local names.
	{"rejects localhost", "https://localhost/", msgNotPublic},
	{"rejects upper-case localhost", "https://LOCALHOST/", msgNotPublic},
	{"rejects localhost with trailing dot", "https://localhost./", msgNotPublic},
	{"rejects localhost with port", "https://localhost:8443/", msgNotPublic},
	{"rejects localhost subdomain", "https://foo.localhost/", msgNotPublic},
	{"rejects mixed-case localhost subdomain with trailing dot", "https://api.LocalHost./", msgNotPublic},
	{"rejects fullwidth localhost", "https://ｌｏｃａｌｈｏｓｔ/", msgNotPublic},
	{"rejects circled-letter localhost", "https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/", msgNotPublic},
	{"rejects mDNS local name", "https://printer.local/", msgNotPublic},
	{"rejects GCP metadata name", "https://metadata.google.internal/computeMetadata/v1/", msgNotPublic},
	{"rejects AWS internal name", "https://ip-10-0-0-1.ec2.internal/", msgNotPublic},
	{"rejects upper-case internal name with trailing dot", "https://DB.INTERNAL./", msgNotPublic},
	{"rejects localhost.localdomain", "https://localhost.localdomain/", msgNotPublic},
	{"rejects home.arpa name", "https://router.home.arpa/", msgNotPublic},
	{"rejects single-label name", "https://intranet/", msgNotPublic},
	{"rejects single-label metadata alias", "https://metadata/", msgNotPublic},

	// Special-use names (RFC 6761, 6762, 7686, 9476, 8375), reverse-mapping names and the
	// suffixes clusters and private networks use, whatever their case, trailing dot or
	// IDNA-equivalent spelling.
	{"rejects .test name", "https://foo.test/", msgNotPublic},
	{"rejects .invalid name", "https://hooks.invalid/", msgNotPublic},
	{"rejects .onion name", "https://abc.onion/", msgNotPublic},
	{"rejects .alt name", "https://x.alt/", msgNotPublic},
	{"rejects IPv4 reverse-mapping name", "https://1.0.0.127.in-addr.arpa/", msgNotPublic},
	{"rejects IPv6 reverse-mapping name", "https://1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa/", msgNotPublic},
	{"rejects bare in-addr.arpa", "https://in-addr.arpa/", msgNotPublic},
	{"rejects bare ip6.arpa", "https://ip6.arpa/", msgNotPublic},
	{"rejects bare home.arpa", "https://home.arpa/", msgNotPublic},
	{"rejects bare test label", "https://test/", msgNotPublic},
	{"rejects bare onion label", "https://onion/", msgNotPublic},
	{"rejects Kubernetes service name", "https://redis.prod.svc/", msgNotPublic},
	{"rejects Kubernetes cluster-local name", "https://redis.prod.svc.cluster.local/", msgNotPublic},
	{"rejects Consul service name", "https://vault.service.consul/", msgNotPublic},
	{"rejects .lan name", "https://nas.lan/", msgNotPublic},
	{"rejects .corp name", "https://intranet.corp/", msgNotPublic},
	{"rejects .intranet name", "https://wiki.intranet/", msgNotPublic},
	{"rejects .private name", "https://db.private/", msgNotPublic},
	{"rejects upper-case .test name", "https://FOO.TEST/", msgNotPublic},
	{"rejects mixed-case .onion name with trailing dot", "https://Abc.Onion./", msgNotPublic},
	{"rejects upper-case Consul name with trailing dot and port", "https://VAULT.SERVICE.CONSUL.:8443/", msgNotPublic},
	{"rejects upper-case reverse-mapping name", "https://1.0.0.127.IN-ADDR.ARPA/", msgNotPublic},
	{"rejects fullwidth .test suffix", "https://foo.ｔｅｓｔ/", msgNotPublic},
	{"rejects fullwidth .svc suffix", "https://redis.prod.ｓｖｃ/", msgNotPublic},
	{"rejects ideographic-full-stop .onion name", "https://abc。onion/", msgNotPublic},
	{"rejects fullwidth-full-stop .lan name", "https://nas．lan/", msgNotPublic},
	{"rejects circled-letter .corp suffix", "https://intranet.ⓒⓞⓡⓟ/", msgNotPublic},
	{"rejects Unicode name under .test", "https://bücher.test/", msgNotPublic},

	// Private and special IPv4 literals.
	{"rejects loopback", "https://127.0.0.1/", msgNotPublic},
	{"rejects top of loopback range", "https://127.255.255.254/", msgNotPublic},
	{"rejects 10/8", "https://10.0.0.1/", msgNotPublic},
	{"rejects bottom of 172.16/12", "https://172.16.0.1/", msgNotPublic},
	{"rejects top of 172.16/12", "https://172.31.255.255/", msgNotPublic},
	{"rejects 192.168/16", "https://192.168.1.1/", msgNotPublic},
	{"rejects cloud metadata address", "https://169.254.169.254/latest/meta-data/", msgNotPublic},
	{"rejects CGNAT bottom", "https://100.64.0.1/", msgNotPublic},
	{"rejects CGNAT top", "https://100.127.255.255/", msgNotPublic},
	{"rejects unspecified address", "https://0.0.0.0/", msgNotPublic},
	{"rejects this-network range", "https://0.1.2.3/", msgNotPublic},
	{"rejects multicast", "https://224.0.0.1/", msgNotPublic},
	{"rejects limited broadcast", "https://255.255.255.255/", msgNotPublic},
	{"rejects reserved class E", "https://240.0.0.1/", msgNotPublic},
	{"rejects IETF protocol assignments", "https://192.0.0.1/", msgNotPublic},
	{"rejects TEST-NET-1", "https://192.0.2.1/", msgNotPublic},
	{"rejects TEST-NET-2", "https://198.51.100.1/", msgNotPublic},
	{"rejects TEST-NET-3", "https://203.0.113.1/", msgNotPublic},
	{"rejects benchmarking bottom", "https://198.18.0.1/", msgNotPublic},
	{"rejects benchmarking top", "https://198.19.255.255/", msgNotPublic},
	{"rejects deprecated 6to4 relay anycast", "https://192.88.99.1/", msgNotPublic},
	{"rejects loopback with trailing dot", "https://127.0.0.1./", msgNotPublic},
	{"rejects private IPv4 with port", "https://10.0.0.1:8443/", msgNotPublic},

	// IPv4 spellings that clients resolve without DNS.
	{"rejects decimal loopback", "https://2130706433/", msgNotPublic},
	{"rejects decimal metadata address", "https://2852039166/", msgNotPublic},
	{"rejects octal loopback", "https://0177.0.0.1/", msgNotPublic},
	{"rejects zero-padded loopback", "https://127.000.000.001/", msgNotPublic},
	{"rejects octal private address", "https://0300.0250.0.1/", msgNotPublic},
	{"rejects hex two-part loopback", "https://0x7f.1/", msgNotPublic},
	{"rejects hex single-number loopback", "https://0x7f000001/", msgNotPublic},
	{"rejects upper-case hex loopback", "https://0X7F.0X0.0X0.0X1/", msgNotPublic},
	{"rejects bare hex prefix as zero", "https://0x/", msgNotPublic},
	{"rejects single zero as unspecified", "https://0/", msgNotPublic},
	{"rejects short-form loopback", "https://127.1/", msgNotPublic},
	{"rejects short-form private address", "https://10.1/", msgNotPublic},
	{"rejects three-part private address", "https://192.168.1/", msgNotPublic},
	{"rejects fullwidth-digit loopback", "https://１２７.０.０.１/", msgNotPublic},
	{"rejects ideographic-full-stop loopback", "https://127。0。0。1/", msgNotPublic},

	// Hosts that end in a number but are not IPv4.
	{"rejects five-part address", "https://1.2.3.4.5/", msgInvalidHost},
	{"rejects out-of-range octet", "https://999.1.1.1/", msgInvalidHost},
	{"rejects out-of-range final octet", "https://1.2.3.256/", msgInvalidHost},
	{"rejects invalid octal digit", "https://08.8.8.8/", msgInvalidHost},
	{"rejects number beyond 32 bits", "https://4294967296/", msgInvalidHost},
	{"rejects oversized final part", "https://1.16777216/", msgInvalidHost},
	{"rejects name ending in a number", "https://foo.123/", msgInvalidHost},
	{"rejects empty part in address", "https://127..1/", msgInvalidHost},

	// IPv6 literals.
	{"rejects IPv6 loopback", "https://[::1]/", msgNotPublic},
	{"rejects expanded IPv6 loopback", "https://[0:0:0:0:0:0:0:1]/", msgNotPublic},
	{"rejects IPv6 unspecified", "https://[::]/", msgNotPublic},
	{"rejects unique local", "https://[fd12:3456::1]/", msgNotPublic},
	{"rejects bottom of fc00::/7", "https://[fc00::1]/", msgNotPublic},
	{"rejects IPv6 link-local", "https://[fe80::1]/", msgNotPublic},
	{"rejects link-local with zone", "https://[fe80::1%25eth0]/", msgNotPublic},
	{"rejects zone on global address", "https://[2606:4700::1111%25eth0]/", msgNotPublic},
	{"rejects site-local", "https://[fec0::1]/", msgNotPublic},
	{"rejects IPv6 multicast", "https://[ff02::1]/", msgNotPublic},
	{"rejects IPv6 documentation", "https://[2001:db8::1]/", msgNotPublic},
	{"rejects new IPv6 documentation prefix", "https://[3fff::1]/", msgNotPublic},
	{"rejects IPv4-mapped loopback dotted", "https://[::ffff:127.0.0.1]/", msgNotPublic},
	{"rejects IPv4-mapped loopback hex", "https://[::ffff:7f00:1]/", msgNotPublic},
	{"rejects IPv4-mapped metadata address", "https://[::ffff:169.254.169.254]/", msgNotPublic},
	{"rejects IPv4-compatible loopback", "https://[::127.0.0.1]/", msgNotPublic},
	{"rejects IPv4-compatible public address", "https://[::93.184.216.34]/", msgNotPublic},
	{"rejects NAT64 of loopback", "https://[64:ff9b::127.0.0.1]/", msgNotPublic},
	{"rejects NAT64 of metadata address", "https://[64:ff9b::a9fe:a9fe]/", msgNotPublic},
	{"rejects local-use NAT64", "https://[64:ff9b:1::5db8:d822]/", msgNotPublic},
	{"rejects discard-only prefix", "https://[100::1]/", msgNotPublic},
	{"rejects Teredo", "https://[2001::1]/", msgNotPublic},
	{"rejects 6to4 embedding loopback", "https://[2002:7f00:1::]/", msgNotPublic},
	{"rejects SRv6 SID block", "https://[5f00::1]/", msgNotPublic},
	{"rejects IPv6 loopback with port", "https://[::1]:8443/", msgNotPublic},
	{"rejects IPv4 inside brackets", "https://[127.0.0.1]/", msgInvalidHost},
	{"rejects unterminated IPv6 literal", "https://[::1/", msgInvalidHost},
	{"rejects garbage IPv6 literal", "https://[not-an-ip]/", msgInvalidHost},
	{"rejects junk after IPv6 literal", "https://[::1]x/", msgInvalidHost},
	{"rejects empty brackets", "https://[]/", msgInvalidHost},
	{"rejects unbracketed IPv6", "https://::1/", msgInvalidHost},

	// Malformed hostnames.
	{"rejects empty label", "https://a..b/", msgInvalidHost},
	{"rejects leading dot", "https://.example.com/", msgInvalidHost},
	{"rejects double trailing dot", "https://example.com../", msgInvalidHost},
	{"rejects root-only host", "https://./", msgInvalidHost},
	{"rejects 64-byte label", "https://" + label63 + "a.example.com/", msgInvalidHost},
	{"rejects 254-byte hostname", "https://a" + host253 + "/", msgInvalidHost},
	{"rejects underscore", "https://under_score.example.com/", msgInvalidHost},
	{"rejects leading hyphen", "https://-leading.example.com/", msgInvalidHost},
	{"rejects trailing hyphen", "https://trailing-.example.com/", msgInvalidHost},
	{"rejects punctuation in host", "https://exa!mple.com/", msgInvalidHost},
	{"rejects invalid punycode", "https://xn--a.example/", msgInvalidHost},
	{"rejects colon smuggled before port", "https://example.com:443:80/", msgInvalidHost},
	{"rejects fullwidth at-sign that IDNA maps to user info", "https://user＠127.0.0.1/", msgInvalidHost},
	{"rejects fullwidth solidus that IDNA maps to a path", "https://127.0.0.1／x.example.com/", msgInvalidHost},
	{"rejects fullwidth colon that IDNA maps to a port", "https://example.com：443/", msgInvalidHost},

	// Things net/url, which the delivery client uses, refuses.
	{"rejects invalid path escape", "https://example.com/%zz", msgInvalidURL},
}

func TestValidate(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool, len(validateCases))
	for _, tc := range validateCases {
		if seen[tc.name] {
			t.Fatalf("duplicate test name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ""
			if err := Validate(tc.raw); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate(%q) = %q, want %q", tc.raw, orOK(got), orOK(tc.want))
			}
		})
	}
}

func orOK(msg string) string {
	if msg == "" {
		return "<nil>"
	}
	return msg
}

// TestMessagesAreClientSafe guards the contract that messages can be shown to
// API clients verbatim.
func TestMessagesAreClientSafe(t *testing.T) {
	t.Parallel()
	for _, msg := range allMessages {
		if strings.HasSuffix(msg, ".") {
			t.Errorf("message %q ends with a period", msg)
		}
		if first, _ := utf8.DecodeRuneInString(msg); first < 'a' || first > 'z' {
			t.Errorf("message %q does not start with a lower-case letter", msg)
		}
	}
	if got, want := errTooLong.Error(), msgTooLong; got != want {
		t.Errorf("length message = %q, want %q (MaxLength changed?)", got, want)
	}
}

// contractRefusedSuffixes are the names contract §3 lists as never publicly
// routable.
var contractRefusedSuffixes = []string{
	"localhost", "local", "internal", "test", "invalid", "onion", "alt", "home.arpa", "in-addr.arpa", "ip6.arpa",
	"svc", "cluster.local", "consul", "lan", "corp", "intranet", "private",
}

func FuzzValidate(f *testing.F) {
	for _, tc := range validateCases {
		f.Add(tc.raw)
	}
	known := make(map[string]bool, len(allMessages))
	for _, msg := range allMessages {
		known[msg] = true
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := Validate(raw)
		if err != nil {
			if !known[err.Error()] {
				t.Fatalf("Validate(%q) returned unlisted message %q", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("Validate(%q) accepted a URL net/url rejects: %v", raw, perr)
		}
		if u.Scheme != "https" {
			t.Fatalf("Validate(%q) accepted scheme %q", raw, u.Scheme)
		}
		if u.Host == "" || u.Hostname() == "" {
			t.Fatalf("Validate(%q) accepted a URL without a host", raw)
		}
		if u.User != nil {
			t.Fatalf("Validate(%q) accepted user info %q", raw, u.User)
		}
		if len(raw) > MaxLength {
			t.Fatalf("Validate accepted %d bytes", len(raw))
		}
		// Cross-check literal addresses against the standard library's own
		// classification, an independent oracle for the common cases.
		if addr, perr := netip.ParseAddr(u.Hostname()); perr == nil {
			a := addr.Unmap()
			if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
				t.Fatalf("Validate(%q) accepted non-public address %v", raw, addr)
			}
		}
		if h := strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
			t.Fatalf("Validate(%q) accepted a localhost name", raw)
		}
		// The names contract §3 refuses, spelled out here rather than taken from
		// privateSuffixes, judged as the delivery client's IDNA mapping sees them.
		if ascii, err := idna.Lookup.ToASCII(u.Hostname()); err == nil {
			h := "." + strings.ToLower(strings.TrimSuffix(ascii, "."))
			for _, suffix := range contractRefusedSuffixes {
				if strings.HasSuffix(h, "."+suffix) {
					t.Fatalf("Validate(%q) accepted a name under .%s", raw, suffix)
				}
			}
		}
	})
}
