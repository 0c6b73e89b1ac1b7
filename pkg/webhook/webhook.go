// Package webhook validates customer-supplied webhook URLs (inbound_url,
// status_url) before they are stored, so that the platform is never tricked
// into delivering callbacks to its own network (server-side request forgery).
//
// The check is purely syntactic: it does no DNS resolution, because a lookup
// at validation time proves nothing about the address the name resolves to at
// delivery time. A public name may still resolve to a private address (for
// example 127.0.0.1.nip.io, or DNS rebinding), so the delivery client must also
// refuse non-public addresses when it connects. Validate exists to reject the
// obviously unsafe URLs early, with a message the customer can act on.
package webhook

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxLength is the longest accepted URL, in bytes. It bounds what we store and
// echo back, and keeps the URL within what common HTTP stacks accept.
const MaxLength = 2048

// The messages are part of the public API contract: clients see them verbatim,
// so they are lower-case, have no trailing period, and never echo the input.
var (
	errTooLong     = errors.New("must be at most " + strconv.Itoa(MaxLength) + " bytes")
	errInvalidUTF8 = errors.New("must be valid UTF-8")
	errControl     = errors.New("must not contain spaces or control characters")
	errScheme      = errors.New("must use https://")
	errBackslash   = errors.New("must not contain backslashes")
	errNotAbsolute = errors.New("must be an absolute URL")
	errUserInfo    = errors.New("must not contain user info")
	errNoHost      = errors.New("must have a host")
	errPort        = errors.New("port is invalid")
	errHostPercent = errors.New("host must not be percent-encoded")
	errInvalidHost = errors.New("host is not a valid hostname")
	errNotPublic   = errors.New("host must be publicly routable")
	errInvalidURL  = errors.New("must be a valid URL")
)

// Validate reports whether raw is acceptable as a webhook URL. The returned
// error's message is safe to show to API clients as-is (lower-case, no
// trailing period), e.g. "must use https://".
//
// Different URL parsers (net/url, WHATWG browsers, curl, inet_aton) disagree
// on edge cases, and SSRF bypasses live in those disagreements. So rather than
// trusting any one parser, Validate rejects every construct on which they
// differ (backslashes, user info, percent-encoded hosts, control characters)
// and interprets the host the most permissive way a client might, e.g. treating
// "0x7f.1" as the IPv4 address 127.0.0.1.
func Validate(raw string) error {
	// Cheap, input-wide checks come first: they make the rest of the string
	// unparseable, and the scheme check below would otherwise blame a stray
	// leading space on the scheme.
	if len(raw) > MaxLength {
		return errTooLong
	}
	if !utf8.ValidString(raw) {
		return errInvalidUTF8
	}
	if strings.IndexFunc(raw, isSpaceOrControl) >= 0 {
		return errControl
	}

	// The scheme is checked before anything about the host so that
	// "http://localhost" is told about https first: that is the fix the
	// customer most likely needs.
	rest, ok := cutHTTPSScheme(raw)
	if !ok {
		return errScheme
	}
	// WHATWG parsers treat "\" as "/" in https URLs while net/url does not, so
	// "https://evil.com\@127.0.0.1/" has two different hosts depending on who
	// reads it.
	if strings.ContainsRune(raw, '\\') {
		return errBackslash
	}
	// "https:example.com" and "https:/example.com" are opaque or relative to
	// net/url but are silently repaired to https://example.com/ by browsers;
	// insisting on "//" removes that disagreement.
	rest, ok = strings.CutPrefix(rest, "//")
	if !ok {
		return errNotAbsolute
	}

	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	// Any "@" means user info. Parsers disagree on which "@" ends it, and
	// "https://example.com@127.0.0.1/" is a classic way to disguise the real
	// host, so no form of it is accepted.
	if strings.ContainsRune(authority, '@') {
		return errUserInfo
	}

	host, port, hasPort := splitHostPort(authority)
	if host == "" {
		return errNoHost
	}
	if hasPort && !validPort(port) {
		return errPort
	}
	if err := checkHost(host); err != nil {
		return err
	}

	// The delivery client parses the URL with net/url, so the URL must parse
	// there and agree with what was checked above; a mismatch would mean the
	// checks looked at a different host from the one that would be dialled.
	u, err := url.Parse(raw)
	if err != nil {
		return errInvalidURL
	}
	if u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Host != authority {
		return errInvalidURL
	}
	return nil
}

// isSpaceOrControl also covers Unicode format characters (zero-width space,
// byte-order mark, bidi overrides): they are invisible, so a URL containing
// them is not the URL the customer sees. ZWNJ and ZWJ are allowed because some
// scripts need them in internationalised domain names, where IDNA's CONTEXTJ
// rules police them.
func isSpaceOrControl(r rune) bool {
	if r == '\u200c' || r == '\u200d' {
		return false
	}
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// cutHTTPSScheme compares bytes rather than using strings.EqualFold, whose
// Unicode folding would equate "httpſ" (long s) with "https".
func cutHTTPSScheme(raw string) (rest string, ok bool) {
	const prefix = "https:"
	if len(raw) < len(prefix) {
		return "", false
	}
	for i := range len(prefix) {
		c := raw[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return "", false
		}
	}
	return raw[len(prefix):], true
}

// splitHostPort keeps the brackets on an IPv6 literal so checkHost can tell a
// literal from a name. A colon with nothing after it reports hasPort with an
// empty port, which validPort rejects: an empty port is legal in RFC 3986 but
// only invites parser disagreement.
func splitHostPort(authority string) (host, port string, hasPort bool) {
	if strings.HasPrefix(authority, "[") {
		end := strings.IndexByte(authority, ']')
		if end < 0 {
			// Let checkHost report the unterminated literal.
			return authority, "", false
		}
		host, after := authority[:end+1], authority[end+1:]
		if after == "" {
			return host, "", false
		}
		if after[0] != ':' {
			// Garbage after "]" makes the host, not the port, malformed.
			return authority, "", false
		}
		return host, after[1:], true
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 {
		return authority[:i], authority[i+1:], true
	}
	return authority, "", false
}

// validPort accepts leading zeros because every mainstream client reads
// "000443" as 443; what matters is that the value is a usable TCP port.
func validPort(port string) bool {
	if port == "" {
		return false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

func checkHost(host string) error {
	if strings.HasPrefix(host, "[") {
		return checkIPv6Literal(host)
	}
	// net/url decodes percent-encoding in hosts, so "%6c%6f%63%61%6c..." would
	// reach the resolver as "localhost". Legitimate customers never need it:
	// IDNs can be written in Unicode or punycode instead.
	if strings.ContainsRune(host, '%') {
		return errHostPercent
	}

	// IDNA mapping runs before any other host check because it is what the
	// delivery client does to non-ASCII hosts: fullwidth "ｌｏｃａｌｈｏｓｔ" and
	// "１２７。０。０。１" become "localhost" and "127.0.0.1" there, so they must be
	// judged as such here too.
	ascii, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return errInvalidHost
	}
	// A single trailing dot only marks the name as fully qualified;
	// "localhost." is still localhost.
	name := strings.TrimSuffix(ascii, ".")
	if name == "" {
		return errInvalidHost
	}

	if endsInNumber(name) {
		addr, ok := parseIPv4(name)
		if !ok {
			return errInvalidHost
		}
		if !isPublicAddr(addr) {
			return errNotPublic
		}
		return nil
	}

	if !validHostname(name) {
		return errInvalidHost
	}
	if isPrivateName(name) {
		return errNotPublic
	}
	return nil
}

// checkIPv6Literal rejects any zone identifier: zones only exist for
// link-local and other non-global scopes (RFC 4007), so a URL carrying one is
// aimed at the local network by construction.
func checkIPv6Literal(host string) error {
	if len(host) < 2 || host[len(host)-1] != ']' {
		return errInvalidHost
	}
	inner := host[1 : len(host)-1]
	addrText, _, hasZone := strings.Cut(inner, "%")
	addr, err := netip.ParseAddr(addrText)
	// Brackets hold IPv6 only; "[127.0.0.1]" is invalid for every URL parser.
	if err != nil || !addr.Is6() {
		return errInvalidHost
	}
	if hasZone || !isPublicAddr(addr) {
		return errNotPublic
	}
	return nil
}

// endsInNumber is the WHATWG URL Standard's test for whether a host must be
// parsed as IPv4. Using it (rather than netip.ParseAddr, which only knows
// dotted-quad decimal) means "2130706433", "0x7f.1" and "127.1" are caught as
// the loopback address that browsers, curl and inet_aton resolve them to.
func endsInNumber(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	if allDigits(last, 10) {
		return true
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return allDigits(last[2:], 16)
	}
	return false
}

// parseIPv4 implements the WHATWG IPv4 parser: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last part filling the remaining
// bytes. A host that ends in a number but fails here is not a valid host at
// all, so the caller rejects it rather than treating it as a name.
func parseIPv4(name string) (netip.Addr, bool) {
	parts := strings.Split(name, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	last := len(nums) - 1
	for _, n := range nums[:last] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if nums[last] >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := nums[last]
	for i, n := range nums[:last] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d, ok := digitValue(s[i])
		if !ok || d >= base {
			return 0, false
		}
		n = n*base + d
		// Anything above 32 bits can never be a valid part; stopping here
		// keeps long digit strings from overflowing.
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

func digitValue(c byte) (uint64, bool) {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0'), true
	case 'a' <= c && c <= 'f':
		return uint64(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

func allDigits(s string, base uint64) bool {
	if s == "" {
		return base == 16 // WHATWG reads a bare "0x" as zero.
	}
	for i := 0; i < len(s); i++ {
		d, ok := digitValue(s[i])
		if !ok || d >= base {
			return false
		}
	}
	return true
}

// validHostname applies the DNS length limits and the LDH rule to the IDNA
// output. IDNA's Lookup profile does not enforce lengths or empty labels, and
// anything outside LDH cannot be a public DNS name anyway.
func validHostname(name string) bool {
	if len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return false
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// privateSuffixes are the names that never lead to a public webhook receiver:
// each entry is refused itself and with any labels in front of it. The one
// list of them, matched case-insensitively after IDNA mapping and without the
// trailing dot, so "FOO.TEST.", "foo.ｔｅｓｔ" and "foo。test" are foo.test.
//
//   - Special-use names: localhost (RFC 6761 §6.3), test (§6.2) and invalid
//     (§6.4); local, multicast DNS (RFC 6762; it also covers Kubernetes'
//     cluster.local); onion (RFC 7686); alt (RFC 9476); home.arpa (RFC 8375).
//     example (RFC 6761 §6.5) is left out on purpose: documentation names
//     such as hooks.example and example.com stay accepted.
//   - Reverse-mapping names, which name addresses rather than hosts:
//     in-addr.arpa (RFC 1035 §3.5) and ip6.arpa (RFC 3596 §2.5); a PTR name
//     such as 1.0.0.127.in-addr.arpa is loopback in disguise.
//   - Private-use names: internal, reserved by ICANN for private use (cloud
//     metadata services such as metadata.google.internal live there);
//     localdomain, the /etc/hosts companion of localhost; intranet, private,
//     corp and lan, which RFC 6762 Appendix G lists as used on private
//     networks; svc (Kubernetes services, redis.prod.svc) and consul
//     (HashiCorp Consul, vault.service.consul), the common cluster suffixes.
var privateSuffixes = []string{
	"localhost", "test", "invalid", "local", "onion", "alt", "home.arpa",
	"in-addr.arpa", "ip6.arpa",
	"internal", "localdomain", "intranet", "private", "corp", "lan", "svc", "consul",
}

// isPrivateName also rejects single-label names ("metadata", "intranet",
// "ip6-localhost"): resolvers expand them through the host's search domains,
// so they reach internal services, and no public webhook endpoint uses one.
func isPrivateName(name string) bool {
	name = strings.ToLower(name)
	if !strings.Contains(name, ".") {
		return true
	}
	for _, s := range privateSuffixes {
		if name == s || strings.HasSuffix(name, "."+s) {
			return true
		}
	}
	return false
}

// Non-public IPv4 ranges, from the IANA IPv4 Special-Purpose Address Registry.
// 192.0.0.0/24 is rejected whole although two anycast addresses in it are
// globally reachable, because no webhook receiver lives there; likewise the
// deprecated 6to4 relay anycast block.
var nonPublicV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", incl. 0.0.0.0
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, incl. cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, incl. 255.255.255.255
}

var (
	// IPv6 is checked by allow-list: only 2000::/3 is allocated as global
	// unicast, so everything outside it (::/8 incl. loopback, unspecified and
	// IPv4-compatible, 100::/64 discard, 64:ff9b:1::/48 local NAT64,
	// 5f00::/16 SRv6, fc00::/7, fec0::/10, fe80::/10, ff00::/8) is refused
	// without having to enumerate it.
	globalUnicastV6 = netip.MustParsePrefix("2000::/3")
	// NAT64 gateways forward 64:ff9b::a.b.c.d to a.b.c.d, so the embedded
	// IPv4 address decides.
	nat64V6 = netip.MustParsePrefix("64:ff9b::/96")
	// Special-purpose blocks inside 2000::/3.
	nonPublicV6 = []netip.Prefix{
		netip.MustParsePrefix("2001::/23"),     // IETF protocol assignments, incl. Teredo and benchmarking
		netip.MustParsePrefix("2001:db8::/32"), // documentation
		netip.MustParsePrefix("2002::/16"),     // 6to4: embeds arbitrary IPv4, deprecated
		netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
	}
)

func isPublicAddr(addr netip.Addr) bool {
	if addr.Zone() != "" {
		return false
	}
	// IPv4-mapped addresses are dialled as the IPv4 address they carry.
	addr = addr.Unmap()
	if addr.Is4() {
		for _, p := range nonPublicV4 {
			if p.Contains(addr) {
				return false
			}
		}
		return true
	}
	if nat64V6.Contains(addr) {
		b := addr.As16()
		return isPublicAddr(netip.AddrFrom4([4]byte(b[12:])))
	}
	if !globalUnicastV6.Contains(addr) {
		return false
	}
	for _, p := range nonPublicV6 {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}
