package phonenumbers

import (
	"errors"
	"fmt"
)

// Kind classifies an error into one of the outcomes the API contract defines. The set is closed:
// adapters map each kind to exactly one HTTP status and error code.
type Kind int

// The kinds of error, one per row of the contract's status table.
const (
	// KindInternal is anything unexpected; its message never reaches a client.
	KindInternal Kind = iota
	// KindUnauthenticated covers every authentication failure, indistinguishably.
	KindUnauthenticated
	// KindForbidden means the key lacks the required scope.
	KindForbidden
	// KindInvalidParameter means a path parameter is malformed.
	KindInvalidParameter
	// KindUnsupportedMediaType means the request body is not JSON by its Content-Type.
	KindUnsupportedMediaType
	// KindPayloadTooLarge means the body exceeds the size limit.
	KindPayloadTooLarge
	// KindInvalidInput means the body is not a JSON object of updatable members.
	KindInvalidInput
	// KindValidationFailed means one or more field values break the field rules.
	KindValidationFailed
	// KindCampaignNotActive means the referenced campaign exists but is not ACTIVE.
	KindCampaignNotActive
	// KindNotFound means the phone number does not exist or belongs to another organization.
	KindNotFound
	// KindPreconditionFailed means an If-Match named no version the phone number has; the
	// *Error carries the current version.
	KindPreconditionFailed
	// KindUnavailable means storage stayed throttled or unreachable, or time ran out.
	KindUnavailable
)

var kindNames = [...]string{
	KindInternal:             "internal",
	KindUnauthenticated:      "unauthenticated",
	KindForbidden:            "forbidden",
	KindInvalidParameter:     "invalid parameter",
	KindUnsupportedMediaType: "unsupported media type",
	KindPayloadTooLarge:      "payload too large",
	KindInvalidInput:         "invalid input",
	KindValidationFailed:     "validation failed",
	KindCampaignNotActive:    "campaign not active",
	KindNotFound:             "not found",
	KindPreconditionFailed:   "precondition failed",
	KindUnavailable:          "unavailable",
}

// String returns a short human-readable name of the kind, for logs.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Error is the one error type the domain returns for expected outcomes. Message and Details are
// written for API clients; Err is the cause, kept for logs and never shown to clients.
type Error struct {
	Kind    Kind
	Message string
	// Details maps a field name to what is wrong with it; only validation errors have it.
	Details map[string]string
	// CurrentVersion is the phone number's version as stored; only KindPreconditionFailed errors
	// set it, so that the client can be told which version to re-read.
	CurrentVersion int64
	Err            error
}

// Error describes the error for logs, cause included.
func (e *Error) Error() string {
	msg := e.Kind.String()
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause, so errors.Is and errors.As see through an Error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first *Error in err's chain, and KindInternal for any other
// error: an error nobody classified is, by definition, unexpected.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrCorruptRecord is the cause of an error about a stored record that breaks the data model (a
// key without an organization, for example). The client sees only the error's kind; the handler
// logs the cause at error level, for an operator to repair the record.
var ErrCorruptRecord = errors.New("corrupt record")

// Errorf returns an *Error of the given kind whose client-facing message is formatted from format
// and args.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// The messages the contract fixes word for word.
const (
	msgUnauthenticated   = "authentication failed"
	msgForbidden         = "missing required scope"
	msgValidationFailed  = "validation failed"
	msgCampaignNotActive = "campaign is not active"
	msgNotFound          = "not found"
)

// MessageUnavailable is the one message clients get when storage is unavailable: it says to retry
// and nothing about the cause.
const MessageUnavailable = "service temporarily unavailable, retry later"

// UnauthenticatedError is returned for every authentication failure, whatever its cause, so that
// no response reveals which check failed.
func UnauthenticatedError() *Error {
	return &Error{Kind: KindUnauthenticated, Message: msgUnauthenticated}
}

// NotFoundError is returned when a phone number does not exist or belongs to another organization:
// the two are deliberately the same error.
func NotFoundError() *Error {
	return &Error{Kind: KindNotFound, Message: msgNotFound}
}

// UnavailableError wraps a storage failure that retrying later may cure.
func UnavailableError(cause error) *Error {
	return &Error{Kind: KindUnavailable, Message: MessageUnavailable, Err: cause}
}

// validationError returns a 422-style error with one entry per failing field.
func validationError(details map[string]string) *Error {
	return &Error{Kind: KindValidationFailed, Message: msgValidationFailed, Details: details}
}
