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
	auth      Authenticator
	campaigns CampaignFinder
	numbers   PhoneNumberUpdater
	now       func() time.Time
}

// NewService returns a Service using the given dependencies. now is the clock; nil means
// time.Now.
func NewService(auth Authenticator, campaigns CampaignFinder, numbers PhoneNumberUpdater, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{auth: auth, campaigns: campaigns, numbers: numbers, now: now}
}

// UpdateRequest is an update request as it arrived, before any check.
type UpdateRequest struct {
	// Authorization is the Authorization header's value, "" when absent.
	Authorization string
	// PhoneNumberID is the path parameter as sent.
	PhoneNumberID string
	// ContentType is the Content-Type header's value; HasContentType tells whether the header
	// was sent, so that an empty value is not mistaken for an absent header.
	ContentType    string
	HasContentType bool
	// Body is the request body, base64-encoded when BodyIsBase64 is set.
	Body         string
	BodyIsBase64 bool
}

// Format prints the request with its Authorization header and body redacted, whatever the verb,
// so that logging a request cannot leak the secret it carries (or one pasted into its body).
func (r UpdateRequest) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "{Authorization:[redacted] PhoneNumberID:%q ContentType:%q HasContentType:%t Body:[%d bytes redacted] BodyIsBase64:%t}",
		r.PhoneNumberID, r.ContentType, r.HasContentType, len(r.Body), r.BodyIsBase64)
}

// LogValue gives slog the same redacted view as Format.
func (r UpdateRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("authorization", "[redacted]"),
		slog.String("phone_number_id", r.PhoneNumberID),
		slog.String("content_type", r.ContentType),
		slog.Bool("has_content_type", r.HasContentType),
		slog.Int("body_bytes", len(r.Body)),
		slog.Bool("body_is_base64", r.BodyIsBase64),
	)
}

// UpdateResult is what an update produced. Principal is set as soon as the caller is known, even
// when the update then fails, so that callers can log who asked.
type UpdateResult struct {
	Principal   *Principal
	PhoneNumber PhoneNumber
}

// UpdatePhoneNumber authenticates the caller, checks the request in the contract's order and
// applies the patch. Expected failures are *Error values of the matching kind.
func (s *Service) UpdatePhoneNumber(ctx context.Context, req UpdateRequest) (UpdateResult, error) {
	var result UpdateResult
	secret, ok := ParseAuthorization(req.Authorization)
	if !ok {
		// A malformed header or secret is refused before any storage read.
		return result, ErrUnauthenticated()
	}
	input, inputErr := ParseUpdateInput(req.PhoneNumberID, req.ContentType, req.HasContentType, req.Body, req.BodyIsBase64)

	// The campaign lookup needs nothing from the key lookup but the organization, which is
	// compared afterwards, so both reads run at once and the critical path stays at two round
	// trips. Cancelling on return stops a lookup whose answer is no longer needed.
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

	principal, err := s.auth.Authenticate(ctx, secret)
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

	number, err := s.numbers.UpdatePhoneNumber(ctx, principal.OrgID, input.PhoneNumberID, input.Patch, s.now().UTC())
	if err != nil {
		if KindOf(err) == KindNotFound {
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
	case errIs(answer.err, KindNotFound):
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
