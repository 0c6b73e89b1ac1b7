package phonenumbers

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Service runs the update-phone-number use case: the contract's checks in order, then one
// conditional write.
type Service struct {
	keys      APIKeyFinder
	campaigns CampaignFinder
	numbers   PhoneNumberUpdater
	now       func() time.Time
}

// NewService returns a Service using the given dependencies. now is the clock; nil means
// time.Now.
func NewService(keys APIKeyFinder, campaigns CampaignFinder, numbers PhoneNumberUpdater, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{keys: keys, campaigns: campaigns, numbers: numbers, now: now}
}

// UpdateRequest is an update request as the transport adapter decoded it, before any check of
// the contract's.
type UpdateRequest struct {
	// Secret is the secret the caller presented; the zero Secret when the credentials were absent
	// or malformed.
	Secret Secret
	// PhoneNumberID is the path parameter as sent.
	PhoneNumberID string
	// Body is the request body, decoded from its transport encoding.
	Body []byte
	// BodyErr, when set, is why the transport could not deliver a JSON body (its media type, its
	// size or its encoding), as an *Error of the kind to report; Body is then empty. It is
	// reported in the contract's place for it, after authentication and the path id.
	BodyErr error
	// Precondition is the request's If-Match; the zero Precondition when none was sent.
	Precondition Precondition
	// PreconditionErr, when set, is why the If-Match could not be parsed, as an *Error of the kind
	// to report; Precondition is then the zero value. It is reported in the contract's place for
	// it, right after the body's members (row 7) and before their values (row 8).
	PreconditionErr error
}

// Format prints the request with its body redacted, whatever the verb, so that logging a request
// cannot leak a secret pasted into its body; the Secret redacts itself.
func (r UpdateRequest) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{Secret:[redacted] PhoneNumberID:%q Body:[%d bytes redacted] BodyErr:%v Precondition:%+v PreconditionErr:%v}",
		r.PhoneNumberID, len(r.Body), r.BodyErr, r.Precondition, r.PreconditionErr)
}

// LogValue gives slog the same redacted view as Format.
func (r UpdateRequest) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("secret", "[redacted]"),
		slog.String("phone_number_id", r.PhoneNumberID),
		slog.Int("body_bytes", len(r.Body)),
	}
	if r.BodyErr != nil {
		attrs = append(attrs, slog.String("body_error", r.BodyErr.Error()))
	}
	if r.PreconditionErr != nil {
		attrs = append(attrs, slog.String("precondition_error", r.PreconditionErr.Error()))
	}
	return slog.GroupValue(attrs...)
}

// UpdateResult is what an update produced. Principal is set as soon as the caller is known, even
// when the update then fails, so that callers can log who asked.
type UpdateResult struct {
	Principal   *Principal
	PhoneNumber PhoneNumber
}

// UpdatePhoneNumber authenticates the caller, checks the request in the contract's order and
// applies the patch. Expected failures are *Error values of the matching kind.
//
// Where the checks sit: the contract reports the first failing row of its table, and rows 1-2
// (who is asking) come before rows 3-8 (what they sent), so that nobody learns anything about a
// request's shape without a valid key. The secret's shape is checked first because it needs no
// storage. The request is parsed before the key lookup anyway, because only a valid campaign_id
// may start the campaign lookup, and that lookup must run during the key lookup to keep the
// critical path at two round trips; the parse error is merely held until authentication has
// passed. Transport problems (415, 413, bad base64) arrive already decoded in req.BodyErr and are
// held the same way, reported after the path id as row 4-6 require.
func (s *Service) UpdatePhoneNumber(ctx context.Context, req UpdateRequest) (UpdateResult, error) {
	var result UpdateResult
	if !req.Secret.wellFormed() {
		// A malformed header or secret is refused before any storage read.
		return result, UnauthenticatedError()
	}
	input, inputErr := ParseUpdateInput(req)

	// Cancelling on return stops a lookup whose answer is no longer needed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A patch that attaches a campaign reads the campaign and the number while the key is looked
	// up: the write then checks the campaign atomically, pinned to the number as read, so that
	// the critical path stays the key lookup, then the write.
	var campaignLookup <-chan answer[Campaign]
	var numberLookup <-chan answer[PhoneNumber]
	if inputErr == nil && input.Patch.CampaignID != nil {
		campaignID := *input.Patch.CampaignID
		campaignLookup = lookUp(ctx, "find campaign "+campaignID, func(ctx context.Context) (Campaign, error) {
			return s.campaigns.FindCampaign(ctx, campaignID)
		})
		numberLookup = lookUp(ctx, "find phone number "+input.PhoneNumberID, func(ctx context.Context) (PhoneNumber, error) {
			return s.numbers.FindPhoneNumber(ctx, input.PhoneNumberID)
		})
	}

	principal, err := Authenticate(ctx, s.keys, req.Secret)
	if err != nil {
		return result, err
	}
	result.Principal = &principal
	if !principal.HasScope(ScopeNumbersWrite) {
		return result, &Error{Kind: KindForbidden, Message: msgForbidden}
	}
	if inputErr != nil {
		return result, inputErr
	}

	var number PhoneNumber
	if campaignLookup != nil {
		number, err = s.attachCampaign(ctx, principal.OrgID, input, <-campaignLookup, <-numberLookup)
	} else {
		number, err = s.numbers.UpdatePhoneNumber(ctx, principal.OrgID, input.PhoneNumberID, input.Patch, input.Precondition, s.now().UTC())
	}
	if err != nil {
		if kind := KindOf(err); kind != KindInternal && kind != KindUnavailable {
			return result, err
		}
		return result, fmt.Errorf("update phone number %s: %w", input.PhoneNumberID, err)
	}
	result.PhoneNumber = number
	return result, nil
}

// attachCampaign applies a patch carrying campaign_id: checks 9 and 10 on the campaign read,
// then 11 (the number is the caller's) and 12 (If-Match) on the number read, then, unless the
// patch changes nothing, the write that checks the campaign again at its very moment.
func (s *Service) attachCampaign(ctx context.Context, orgID string, input UpdateInput, campaign answer[Campaign], read answer[PhoneNumber]) (PhoneNumber, error) {
	if err := checkCampaign(campaign, orgID); err != nil {
		return PhoneNumber{}, err
	}
	current, err := read.value, read.err
	switch {
	case KindOf(err) == KindNotFound:
		return PhoneNumber{}, err
	case current.OrgID != "" && current.OrgID != orgID:
		// Another organization's number, even one that does not decode, is not found, exactly
		// like a missing one.
		return PhoneNumber{}, NotFoundError()
	case err != nil:
		return PhoneNumber{}, err
	case !input.Precondition.Matches(current.Version):
		return PhoneNumber{}, PreconditionFailed(current.Version)
	}
	if _, changed := input.Patch.Apply(current); !changed {
		return current, nil
	}
	return s.numbers.AttachCampaign(ctx, orgID, current, input.Patch, input.Precondition, s.now().UTC())
}

// answer is what a concurrent lookup found.
type answer[T any] struct {
	value T
	err   error
}

// lookUp runs find on a goroutine of its own and returns the channel its answer arrives on, once.
// A panic in find becomes the answer's error: on that goroutine it would escape the handler's
// recover and end the process.
func lookUp[T any](ctx context.Context, what string, find func(context.Context) (T, error)) <-chan answer[T] {
	ch := make(chan answer[T], 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- answer[T]{err: fmt.Errorf("%s: panic: %v", what, p)}
			}
		}()
		v, err := find(ctx)
		ch <- answer[T]{value: v, err: err}
	}()
	return ch
}

// checkCampaign applies checks 9 and 10 to the campaign lookup's answer.
func checkCampaign(found answer[Campaign], orgID string) error {
	switch {
	case KindOf(found.err) == KindNotFound:
		return CampaignNotFound()
	case found.err != nil:
		return fmt.Errorf("find campaign: %w", found.err)
	}
	return found.value.CheckAttachable(orgID)
}

// CheckAttachable applies checks 9 and 10 to a campaign found under the id a patch names: it must
// be orgID's (else CampaignNotFound, exactly as for a missing campaign; a record without an id or
// organization too, with ErrCorruptRecord as the cause, for the log) and ACTIVE (else
// KindCampaignNotActive).
func (c Campaign) CheckAttachable(orgID string) error {
	switch {
	case c.ID == "" || c.OrgID == "":
		// A record without an id or organization belongs to nobody: not found, like any other
		// organization's, and logged for an operator to repair.
		notFound := CampaignNotFound()
		notFound.Err = fmt.Errorf("campaign record (id %q, org_id %q): %w: empty id or org_id", c.ID, c.OrgID, ErrCorruptRecord)
		return notFound
	case c.OrgID != orgID:
		return CampaignNotFound()
	case c.Status != CampaignActive:
		return &Error{Kind: KindCampaignNotActive, Message: msgCampaignNotActive}
	}
	return nil
}

// CampaignNotFound is check 9's validation error: campaign_id names no campaign of the caller's
// organization.
func CampaignNotFound() *Error {
	return validationError(map[string]string{string(FieldCampaignID): "campaign not found"})
}
