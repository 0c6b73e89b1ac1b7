package apigw

import (
	"slices"
	"strconv"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// The conditional request headers of RFC 9110 §13.1. Only If-Match means something on this route:
// If-None-Match, If-Modified-Since and If-Unmodified-Since are ignored, as the README documents.
const ifMatchHeader = "If-Match"

// etag returns the entity-tag of a phone number at version: a strong validator, the decimal
// version in quotes (`"7"`). ParseIfMatch reads exactly this form back as matchable.
func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// errIfMatchMalformed and errIfMatchTooLong are the 400s of an If-Match that does not parse; the
// contract reports them right after the body's member check (row 7).
var (
	errIfMatchMalformed = phonenumbers.Errorf(phonenumbers.KindInvalidInput,
		`If-Match header must be "*" or a comma-separated list of entity-tags such as "7"`)
	errIfMatchTooLong = phonenumbers.Errorf(phonenumbers.KindInvalidInput,
		"If-Match header must list at most %d entity-tags", phonenumbers.MaxPreconditionTags)
)

// ParseIfMatch parses the value of an If-Match header by RFC 9110 §13.1.1 and §8.8.3:
//
//	If-Match     = "*" / #entity-tag
//	entity-tag   = [ "W/" ] opaque-tag
//	opaque-tag   = DQUOTE *etagc DQUOTE
//	etagc        = %x21 / %x23-7E / %x80-FF
//
// with optional spaces and tabs around the list's commas, empty list elements ignored (§5.6.1),
// and repeated header lines joined by commas as API Gateway does. Comparison is strong, so only a
// strong tag whose opaque part is a canonical decimal version (`"7"`, not `"07"`, `W/"7"` or
// `"abc"`) can match; other well-formed tags are accepted and match nothing. An empty list, `*`
// mixed with tags, or more than phonenumbers.MaxPreconditionTags tags is an error.
func ParseIfMatch(value string) (phonenumbers.Precondition, error) {
	p := ifMatchParser{s: value}
	p.skipSpace()
	if p.consume('*') {
		p.skipSpace()
		if !p.done() {
			return phonenumbers.Precondition{}, errIfMatchMalformed
		}
		return phonenumbers.NewPrecondition(true), nil
	}
	var versions []int64
	tags := 0
	for {
		// Empty elements ("a, , b") are allowed and skipped.
		for p.consume(',') {
			p.skipSpace()
		}
		if p.done() {
			break
		}
		weak := p.consume('W') // "W/" is case-sensitive
		if weak && !p.consume('/') {
			return phonenumbers.Precondition{}, errIfMatchMalformed
		}
		opaque, ok := p.opaqueTag()
		if !ok {
			return phonenumbers.Precondition{}, errIfMatchMalformed
		}
		if tags++; tags > phonenumbers.MaxPreconditionTags {
			return phonenumbers.Precondition{}, errIfMatchTooLong
		}
		if version, ok := canonicalVersion(opaque); ok && !weak && !slices.Contains(versions, version) {
			versions = append(versions, version)
		}
		p.skipSpace()
		if !p.done() && !p.consume(',') {
			return phonenumbers.Precondition{}, errIfMatchMalformed
		}
		p.skipSpace()
	}
	if tags == 0 {
		return phonenumbers.Precondition{}, errIfMatchMalformed
	}
	return phonenumbers.NewPrecondition(false, versions...), nil
}

// ifMatchParser walks an If-Match value byte by byte: the grammar is ASCII, and obs-text bytes
// are taken as they come, whatever encoding they belong to.
type ifMatchParser struct {
	s string
	i int
}

func (p *ifMatchParser) done() bool { return p.i == len(p.s) }

func (p *ifMatchParser) consume(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// skipSpace skips OWS: spaces and horizontal tabs.
func (p *ifMatchParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// opaqueTag reads a quoted opaque-tag and returns what is between the quotes.
func (p *ifMatchParser) opaqueTag() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return p.s[start : p.i-1], true
		case c == 0x21 || 0x23 <= c && c <= 0x7e || c >= 0x80:
		default:
			return "", false
		}
	}
	return "", false
}

// canonicalVersion reads an opaque-tag written by ETag: a non-negative decimal without leading
// zeros that fits an int64. Anything else names no version, because ETag never writes it.
func canonicalVersion(opaque string) (int64, bool) {
	if opaque == "" || len(opaque) > 1 && opaque[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(opaque); i++ {
		if opaque[i] < '0' || opaque[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(opaque, 10, 64)
	return v, err == nil
}
