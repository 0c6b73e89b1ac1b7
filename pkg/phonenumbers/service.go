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
		return result, ErrUnauthenticated()
	}
	input, inputErr := ParseUpdateInput(req)

	// Cancelling on return stops a lookup whose answer is no longer needed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var campaignLookup chan campaignAnswer
	if inputErr == nil && input.Patch.CampaignID != nil {
		campaignLookup = make(chan campaignAnswer, 1)
		go func(id string) {
			// A panic here would escape the handler's recover and end the process: report it as
			// this lookup's error instead.
			defer func() {
				if p := recover(); p != nil {
					campaignLookup <- campaignAnswer{err: fmt.Errorf("find campaign %s: panic: %v", id, p)}
				}
			}()
			c, err := s.campaigns.FindCampaign(ctx, id)
			campaignLookup <- campaignAnswer{campaign: c, err: err}
		}(*input.Patch.CampaignID)
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
	if campaignLookup != nil {
		answer := <-campaignLookup
		if err := checkCampaign(answer, principal.OrgID); err != nil {
			return result, err
		}
	}

	number, err := s.numbers.UpdatePhoneNumber(ctx, principal.OrgID, input.PhoneNumberID, input.Patch, input.Precondition, s.now().UTC())
	if err != nil {
		if kind := KindOf(err); kind == KindNotFound || kind == KindPreconditionFailed {
			return result, err
		}
		return result, fmt.Errorf("update phone number %s: %w", input.PhoneNumberID, err)
	}
	result.PhoneNumber = number
	return result, nil
}

type campaignAnswer struct {
	campaign Campaign
	err      error
}

// checkCampaign applies checks 9 and 10: the campaign must be the caller's and ACTIVE. Another
// organization's campaign is reported exactly like a missing one.
func checkCampaign(answer campaignAnswer, orgID string) error {
	notFound := validationError(map[string]string{string(FieldCampaignID): "campaign not found"})
	switch {
	case KindOf(answer.err) == KindNotFound:
		return notFound
	case answer.err != nil:
		return fmt.Errorf("find campaign: %w", answer.err)
	case answer.campaign.OrgID != orgID:
		return notFound
	case answer.campaign.Status != CampaignActive:
		return &Error{Kind: KindCampaignNotActive, Message: msgCampaignNotActive}
	}
	return nil
}
