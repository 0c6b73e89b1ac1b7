package phonenumbers

import "slices"

// MaxPreconditionTags is the most entity-tags an If-Match may list. A longer list is refused as
// malformed at the edge, so a Precondition names at most this many versions and the store's
// version condition stays small.
const MaxPreconditionTags = 16

// Precondition is a parsed If-Match: which versions of a phone number the caller is willing to
// update. The zero Precondition (no If-Match sent) matches every version.
type Precondition struct {
	// Any is If-Match `*`: every number the caller owns matches.
	Any bool
	// Versions are the versions named by the list's strong entity-tags whose opaque part is a
	// canonical non-negative decimal. Tags of any other form (weak, "07", "abc") can match
	// nothing, so they are not here.
	Versions []int64
	// present records an If-Match whose tags can match nothing, which Any and Versions alone
	// cannot tell from no If-Match at all.
	present bool
}

// NewPrecondition returns the Precondition of an If-Match that was sent: any for `*`, else the
// versions its matchable tags name. With any false and no versions it is present and matches
// nothing (for example `W/"7"`).
func NewPrecondition(any bool, versions ...int64) Precondition {
	return Precondition{Any: any, Versions: versions, present: true}
}

// Present reports whether an If-Match was sent.
func (p Precondition) Present() bool { return p.present || p.Any || len(p.Versions) > 0 }

// Matches reports whether a number whose stored version is version satisfies the precondition:
// always without If-Match or with `*`, otherwise only when the list names exactly that version
// (strong comparison).
func (p Precondition) Matches(version int64) bool {
	return !p.Present() || p.Any || slices.Contains(p.Versions, version)
}

// msgPreconditionFailed is the 412 message the contract fixes word for word.
const msgPreconditionFailed = "precondition failed"

// PreconditionFailed is returned when an If-Match does not match the phone number's version: nothing
// was written, and current is the version as stored, for the client to re-read.
func PreconditionFailed(current int64) *Error {
	return &Error{Kind: KindPreconditionFailed, Message: msgPreconditionFailed, CurrentVersion: current}
}
