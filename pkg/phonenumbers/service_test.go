package phonenumbers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
)

const (
	orgID      = "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011"
	otherOrgID = "f0e1d2c3-b4a5-4697-8877-665544332211"
	keyID      = "5c0ffee0-0000-4000-8000-000000000001"
)

// testTimeout bounds every wait on a fake, so that a broken concurrency guarantee fails the test
// instead of hanging it. It is never slept on.
const testTimeout = 5 * time.Second

var validSecret = "am_live_" + random(40)

// storage returns a MemStore for one case. keyErr, campaignErr and numberErr say how each lookup
// fails: nil, and the data is there (the caller's key for principal, campaign c when it has an id,
// storedNumber()); a NotFound error, and it is not; any other error, and the lookup fails with it.
func storage(principal phonenumbers.Principal, keyErr error, c phonenumbers.Campaign, campaignErr, numberErr error) *phonenumberstest.MemStore {
	m := phonenumberstest.NewMemStore()
	put := func(err error, store func(), fail *func() error) {
		switch {
		case err == nil:
			store()
		case phonenumbers.KindOf(err) != phonenumbers.KindNotFound:
			*fail = func() error { return err }
		}
	}
	var keyFails, campaignFails, numberFails func() error
	put(keyErr, func() {
		m.PutAPIKey(phonenumbers.APIKey{ID: principal.KeyID, OrgID: principal.OrgID, Scopes: principal.Scopes}, validSecret)
	}, &keyFails)
	put(campaignErr, func() {
		if c.ID != "" {
			m.PutCampaign(c)
		}
	}, &campaignFails)
	put(numberErr, func() { m.PutPhoneNumber(storedNumber()) }, &numberFails)
	if keyFails != nil {
		m.BeforeFindAPIKey = func(context.Context, string) error { return keyFails() }
	}
	if campaignFails != nil {
		m.BeforeFindCampaign = func(context.Context, string) error { return campaignFails() }
	}
	if numberFails != nil {
		// Every call about the number fails: the read of a campaign patch, and either write.
		m.BeforeFindPhoneNumber = func(context.Context, string) error { return numberFails() }
		m.BeforeUpdatePhoneNumber = func(context.Context, phonenumberstest.Update) error { return numberFails() }
		m.BeforeAttachCampaign = func(context.Context, phonenumberstest.Update) error { return numberFails() }
	}
	return m
}

// writerStorage holds the writer's key, an ACTIVE campaign of its organization and the number.
func writerStorage() *phonenumberstest.MemStore {
	return storage(writer, nil, campaign(orgID, phonenumbers.CampaignActive), nil, nil)
}

func newService(m *phonenumberstest.MemStore) *phonenumbers.Service {
	return phonenumbers.NewService(m, m, m, nil)
}

var (
	writer   = phonenumbers.Principal{KeyID: keyID, OrgID: orgID, Scopes: []string{"numbers:read", phonenumbers.ScopeNumbersWrite}}
	readOnly = phonenumbers.Principal{KeyID: keyID, OrgID: orgID, Scopes: []string{"numbers:read"}}
)

func campaign(org string, status phonenumbers.CampaignStatus) phonenumbers.Campaign {
	return phonenumbers.Campaign{ID: campaignID, OrgID: org, Status: status}
}

func storedNumber() phonenumbers.PhoneNumber {
	return phonenumbers.PhoneNumber{ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal}
}

func validRequest(body string) phonenumbers.UpdateRequest {
	return phonenumbers.UpdateRequest{
		Secret:        phonenumbers.NewSecret(validSecret),
		PhoneNumberID: numberID,
		Body:          []byte(body),
	}
}

// badTransport is a request whose body the transport refused with bodyErr (a 415 or 413), and
// whose path id is id.
func badTransport(id string, bodyErr wantErr) phonenumbers.UpdateRequest {
	return phonenumbers.UpdateRequest{
		Secret:        phonenumbers.NewSecret(validSecret),
		PhoneNumberID: id,
		BodyErr:       phonenumbers.Errorf(bodyErr.kind, "%s", bodyErr.message),
	}
}

func TestServiceChecksInContractOrder(t *testing.T) {
	t.Parallel()
	withCampaign := `{"campaign_id":"` + campaignID + `","label":"x"}`
	unauthenticated := wantErr{kind: phonenumbers.KindUnauthenticated, message: "authentication failed"}
	forbidden := wantErr{kind: phonenumbers.KindForbidden, message: "missing required scope"}
	campaignNotFound := fieldErrors(map[string]string{"campaign_id": "campaign not found"})
	notActive := wantErr{kind: phonenumbers.KindCampaignNotActive, message: "campaign is not active"}
	notFound := wantErr{kind: phonenumbers.KindNotFound, message: "not found"}

	tests := []struct {
		name          string
		req           phonenumbers.UpdateRequest
		authPrincipal phonenumbers.Principal
		authErr       error
		campaign      phonenumbers.Campaign
		campaignErr   error
		numberErr     error
		want          *wantErr // nil means success
		wantPrincipal bool
		wantUpdate    bool
	}{
		{name: "unknown key is 401 even with every other check failing",
			req:     badTransport("bad", unsupportedMediaType),
			authErr: phonenumbers.NotFoundError(), want: &unauthenticated},
		{name: "unknown key is 401 before campaign not found",
			req:     validRequest(withCampaign),
			authErr: phonenumbers.NotFoundError(), campaignErr: phonenumbers.NotFoundError(), want: &unauthenticated},
		{name: "missing scope is 403 before bad id",
			req:           badTransport("bad", unsupportedMediaType),
			authPrincipal: readOnly, want: &forbidden, wantPrincipal: true},
		{name: "missing scope is 403 before campaign not found",
			req:           validRequest(withCampaign),
			authPrincipal: readOnly, campaignErr: phonenumbers.NotFoundError(), want: &forbidden, wantPrincipal: true},
		{name: "key with no scopes is 403",
			req:           validRequest(`{}`),
			authPrincipal: phonenumbers.Principal{KeyID: keyID, OrgID: orgID}, want: &forbidden, wantPrincipal: true},
		{name: "scope names match exactly",
			req:           validRequest(`{}`),
			authPrincipal: phonenumbers.Principal{KeyID: keyID, OrgID: orgID, Scopes: []string{"numbers:*", "NUMBERS:WRITE", "numbers:write "}}, want: &forbidden, wantPrincipal: true},
		{name: "bad id is 400 after authorization",
			req:           badTransport("bad", unsupportedMediaType),
			authPrincipal: writer, want: ptrTo(idError()), wantPrincipal: true},
		{name: "bad Content-Type is 415 after authorization",
			req:           badTransport(numberID, unsupportedMediaType),
			authPrincipal: writer, want: &unsupportedMediaType, wantPrincipal: true},
		{name: "too large body is 413 after authorization",
			req:           badTransport(numberID, payloadTooLarge),
			authPrincipal: writer, want: &payloadTooLarge, wantPrincipal: true},
		{name: "bad JSON is 400 after authorization",
			req:           validRequest(`{"label":`),
			authPrincipal: writer, want: ptrTo(invalidInput(msgNotJSON)), wantPrincipal: true},
		{name: "unsupported member is 400 after authorization",
			req:           validRequest(`{"number":"+1"}`),
			authPrincipal: writer, want: ptrTo(invalidInput(`unsupported member "number"; ` + updatableList)), wantPrincipal: true},
		{name: "bad field values are 422 before any campaign lookup",
			req:           validRequest(`{"campaign_id":"` + campaignID + `","label":5}`),
			authPrincipal: writer, campaignErr: phonenumbers.NotFoundError(),
			want: ptrTo(fieldErrors(map[string]string{"label": "must be a string or null"})), wantPrincipal: true},
		{name: "missing campaign is 422 campaign not found",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaignErr: phonenumbers.NotFoundError(), want: &campaignNotFound, wantPrincipal: true},
		{name: "another organization's active campaign is 422 campaign not found",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(otherOrgID, phonenumbers.CampaignActive), want: &campaignNotFound, wantPrincipal: true},
		{name: "another organization's inactive campaign is 422 campaign not found, not 409",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(otherOrgID, phonenumbers.CampaignPending), want: &campaignNotFound, wantPrincipal: true},
		{name: "pending campaign is 409",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, phonenumbers.CampaignPending), want: &notActive, wantPrincipal: true},
		{name: "rejected campaign is 409",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, phonenumbers.CampaignRejected), want: &notActive, wantPrincipal: true},
		{name: "expired campaign is 409",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, phonenumbers.CampaignExpired), want: &notActive, wantPrincipal: true},
		{name: "campaign with unknown status is 409",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, "SUSPENDED"), want: &notActive, wantPrincipal: true},
		{name: "inactive campaign is 409 before number not found",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, phonenumbers.CampaignExpired), numberErr: phonenumbers.NotFoundError(), want: &notActive, wantPrincipal: true},
		{name: "missing number is 404 with an active campaign, decided from the number read without a write",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, phonenumbers.CampaignActive), numberErr: phonenumbers.NotFoundError(),
			want: &notFound, wantPrincipal: true},
		{name: "missing number is 404 without a campaign",
			req:           validRequest(`{"label":"x"}`),
			authPrincipal: writer, numberErr: phonenumbers.NotFoundError(), want: &notFound, wantPrincipal: true, wantUpdate: true},
		{name: "empty patch still reaches the updater, which reports 404",
			req:           validRequest(`{}`),
			authPrincipal: writer, numberErr: phonenumbers.NotFoundError(), want: &notFound, wantPrincipal: true, wantUpdate: true},
		{name: "active campaign of the caller is attached",
			req:           validRequest(withCampaign),
			authPrincipal: writer, campaign: campaign(orgID, phonenumbers.CampaignActive), wantPrincipal: true, wantUpdate: true},
		{name: "upper-case path id and a null member succeed",
			req:           phonenumbers.UpdateRequest{Secret: phonenumbers.NewSecret(validSecret), PhoneNumberID: strings.ToUpper(numberID), Body: []byte(`{"label":null}`)},
			authPrincipal: writer, wantPrincipal: true, wantUpdate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := storage(tt.authPrincipal, tt.authErr, tt.campaign, tt.campaignErr, tt.numberErr)

			got, err := newService(m).UpdatePhoneNumber(context.Background(), tt.req)

			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if want := m.PhoneNumbers()[numberID]; want.ID != numberID || !reflect.DeepEqual(got.PhoneNumber, want) {
					t.Errorf("got phone number %+v, want the stored %+v", got.PhoneNumber, want)
				}
			} else {
				checkErr(t, err, *tt.want)
			}
			calls := m.Calls()
			if gotCalls := len(calls.APIKeyHashes); gotCalls != 1 {
				t.Errorf("got %d key lookups, want 1", gotCalls)
			}
			if (got.Principal != nil) != tt.wantPrincipal {
				t.Errorf("got Principal %v, want set=%v", got.Principal, tt.wantPrincipal)
			} else if got.Principal != nil && !reflect.DeepEqual(*got.Principal, tt.authPrincipal) {
				t.Errorf("got Principal %+v, want %+v", *got.Principal, tt.authPrincipal)
			}
			if gotUpdate := len(calls.Updates)+len(calls.Attaches) == 1; gotUpdate != tt.wantUpdate {
				t.Errorf("got updater called=%v, want %v", gotUpdate, tt.wantUpdate)
			}
		})
	}
}

func ptrTo(w wantErr) *wantErr { return &w }

func TestServiceMalformedSecretReadsNoStorage(t *testing.T) {
	t.Parallel()
	body := `{"campaign_id":"` + campaignID + `"}`
	tests := []struct {
		name   string
		secret phonenumbers.Secret
	}{
		{name: "absent or malformed credentials (the zero Secret)", secret: phonenumbers.Secret{}},
		{name: "empty secret", secret: phonenumbers.NewSecret("")},
		{name: "whole header passed as the secret", secret: phonenumbers.NewSecret("Bearer " + validSecret)},
		{name: "short secret", secret: phonenumbers.NewSecret("am_live_" + random(31))},
		{name: "long secret", secret: phonenumbers.NewSecret("am_live_" + random(65))},
		{name: "wrong prefix", secret: phonenumbers.NewSecret("am_test_" + random(32))},
		{name: "illegal character", secret: phonenumbers.NewSecret("am_live_" + random(31) + "!")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := writerStorage()
			svc := newService(m)
			req := validRequest(body)
			req.Secret = tt.secret

			got, err := svc.UpdatePhoneNumber(context.Background(), req)

			checkErr(t, err, wantErr{kind: phonenumbers.KindUnauthenticated, message: "authentication failed"})
			if got.Principal != nil {
				t.Errorf("got Principal %+v, want nil", *got.Principal)
			}
			// The service returns before starting any lookup, so these counts are final.
			if calls := m.Calls(); !reflect.DeepEqual(calls, phonenumberstest.Calls{}) {
				t.Errorf("got storage calls %+v, want none", calls)
			}
		})
	}
}

func TestServiceLooksUpCampaignOnlyForAValidCampaignID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		req     phonenumbers.UpdateRequest
		wantIDs []string
	}{
		{name: "no campaign_id, no lookup", req: validRequest(`{"label":"x"}`)},
		{name: "null campaign_id, no lookup", req: validRequest(`{"campaign_id":null}`)},
		{name: "empty campaign_id, no lookup", req: validRequest(`{"campaign_id":""}`)},
		{name: "malformed campaign_id, no lookup", req: validRequest(`{"campaign_id":"abc"}`)},
		{name: "valid campaign_id beside a bad field, no lookup", req: validRequest(`{"campaign_id":"` + campaignID + `","inbound_url":"http://x.example/"}`)},
		{name: "valid campaign_id with bad path id, no lookup", req: func() phonenumbers.UpdateRequest {
			r := validRequest(`{"campaign_id":"` + campaignID + `"}`)
			r.PhoneNumberID = "bad"
			return r
		}()},
		{name: "valid campaign_id with unsupported member, no lookup", req: validRequest(`{"campaign_id":"` + campaignID + `","x":1}`)},
		{name: "valid campaign_id, one lookup", req: validRequest(`{"campaign_id":"` + campaignID + `"}`), wantIDs: []string{campaignID}},
		{name: "upper-case campaign_id, one lookup by the normalised id", req: validRequest(`{"campaign_id":"` + strings.ToUpper(campaignID) + `"}`), wantIDs: []string{campaignID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := writerStorage()

			_, _ = newService(m).UpdatePhoneNumber(context.Background(), tt.req)

			// Authentication succeeds in every case, so a started lookup has been awaited.
			if got := m.Calls().CampaignIDs; !reflect.DeepEqual(got, tt.wantIDs) {
				t.Errorf("got campaign lookups %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

// TestServiceLooksUpCampaignConcurrentlyWithKey proves the two reads overlap: neither fake
// answers until the other has been called, which only succeeds if each lookup starts before the
// other ends. Done one after the other, in either order, the first fake gives up after
// testTimeout and the update fails.
func TestServiceLooksUpCampaignConcurrentlyWithKey(t *testing.T) {
	t.Parallel()
	m := writerStorage()
	keyCalled, campaignCalled := make(chan struct{}), make(chan struct{})
	// Each lookup announces itself, then waits for the other to have started.
	meet := func(announce chan struct{}, other <-chan struct{}, what string) error {
		close(announce)
		select {
		case <-other:
			return nil
		case <-time.After(testTimeout):
			return errors.New(what + " did not start while the other lookup was in flight")
		}
	}
	m.BeforeFindAPIKey = func(context.Context, string) error { return meet(keyCalled, campaignCalled, "campaign lookup") }
	m.BeforeFindCampaign = func(context.Context, string) error { return meet(campaignCalled, keyCalled, "key lookup") }

	_, err := newService(m).UpdatePhoneNumber(context.Background(), validRequest(`{"campaign_id":"`+campaignID+`"}`))
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	calls := m.Calls()
	if n := len(calls.CampaignIDs); n != 1 {
		t.Errorf("got %d campaign lookups, want 1", n)
	}
	if n := len(calls.Updates) + len(calls.Attaches); n != 1 {
		t.Errorf("got %d writes, want 1", n)
	}
}

// TestServiceCancelsCampaignLookupItNoLongerNeeds shows that a failed authentication does not
// leave the concurrent campaign lookup running.
func TestServiceCancelsCampaignLookupItNoLongerNeeds(t *testing.T) {
	t.Parallel()
	// No key is stored: authentication fails once the campaign lookup is under way.
	m := storage(writer, phonenumbers.NotFoundError(), campaign(orgID, phonenumbers.CampaignActive), nil, nil)
	campaignCalled := make(chan struct{})
	cancelled := make(chan bool, 1)
	m.BeforeFindCampaign = func(ctx context.Context, _ string) error {
		close(campaignCalled)
		select {
		case <-ctx.Done():
			cancelled <- true
		case <-time.After(testTimeout):
			cancelled <- false
		}
		return ctx.Err()
	}
	m.BeforeFindAPIKey = func(context.Context, string) error {
		select {
		case <-campaignCalled:
		case <-time.After(testTimeout):
		}
		return nil
	}

	_, err := newService(m).UpdatePhoneNumber(context.Background(), validRequest(`{"campaign_id":"`+campaignID+`"}`))
	checkErr(t, err, wantErr{kind: phonenumbers.KindUnauthenticated, message: "authentication failed"})

	select {
	case wasCancelled := <-cancelled:
		if !wasCancelled {
			t.Errorf("got campaign lookup still running after %v, want its context cancelled", testTimeout)
		}
	case <-time.After(2 * testTimeout):
		t.Fatalf("campaign lookup never reported")
	}
}

func TestServiceStorageErrors(t *testing.T) {
	t.Parallel()
	cause := errors.New("dynamodb: connection reset")
	withCampaign := `{"campaign_id":"` + campaignID + `"}`
	tests := []struct {
		name        string
		authErr     error
		campaignErr error
		numberErr   error
		wantKind    phonenumbers.Kind
	}{
		{name: "unavailable key storage stays unavailable", authErr: phonenumbers.UnavailableError(cause), wantKind: phonenumbers.KindUnavailable},
		{name: "unexpected key storage error is internal, not unauthenticated", authErr: cause, wantKind: phonenumbers.KindInternal},
		{name: "unavailable campaign storage stays unavailable", campaignErr: phonenumbers.UnavailableError(cause), wantKind: phonenumbers.KindUnavailable},
		{name: "unexpected campaign storage error is internal, not campaign not found", campaignErr: cause, wantKind: phonenumbers.KindInternal},
		{name: "unavailable number storage stays unavailable", numberErr: phonenumbers.UnavailableError(cause), wantKind: phonenumbers.KindUnavailable},
		{name: "unexpected number storage error is internal", numberErr: cause, wantKind: phonenumbers.KindInternal},
		{name: "deadline while updating stays unavailable", numberErr: phonenumbers.UnavailableError(context.DeadlineExceeded), wantKind: phonenumbers.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := storage(writer, tt.authErr, campaign(orgID, phonenumbers.CampaignActive), tt.campaignErr, tt.numberErr)

			_, err := newService(m).UpdatePhoneNumber(context.Background(), validRequest(withCampaign))

			if err == nil {
				t.Fatalf("got no error, want kind %v", tt.wantKind)
			}
			if got := phonenumbers.KindOf(err); got != tt.wantKind {
				t.Errorf("got kind %v, want %v (error: %v)", got, tt.wantKind, err)
			}
			wantCause := tt.authErr
			if wantCause == nil {
				wantCause = tt.campaignErr
			}
			if wantCause == nil {
				wantCause = tt.numberErr
			}
			if !errors.Is(err, wantCause) {
				t.Errorf("got error %v, want it to wrap %v", err, wantCause)
			}
		})
	}
}

func TestServicePassesTheValidatedUpdateToTheUpdater(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CEST", 2*60*60)
	clock := time.Date(2026, 4, 27, 11, 30, 0, 0, paris)
	m := writerStorage()
	stored := storedNumber()
	stored.Version = 7
	m.PutPhoneNumber(stored)
	svc := phonenumbers.NewService(m, m, m, func() time.Time { return clock })
	req := validRequest(`{"inbound_url":"https://customer.example/in","status_url":"","label":null,"campaign_id":"` + strings.ToUpper(campaignID) + `"}`)
	req.PhoneNumberID = strings.ToUpper(numberID)
	req.Precondition = phonenumbers.NewPrecondition(false, 4, 7)

	got, err := svc.UpdatePhoneNumber(context.Background(), req)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}

	// A patch carrying campaign_id is written by AttachCampaign, given the number read.
	attaches := m.Calls().Attaches
	if len(attaches) != 1 {
		t.Fatalf("got %d attaches, want 1", len(attaches))
	}
	update := attaches[0]
	if update.OrgID != orgID {
		t.Errorf("got org %q, want the principal's %q", update.OrgID, orgID)
	}
	if update.ID != numberID {
		t.Errorf("got id %q, want normalised %q", update.ID, numberID)
	}
	if !reflect.DeepEqual(update.Current, stored) {
		t.Errorf("got an attach of %+v, want one of the number read %+v", update.Current, stored)
	}
	wantPatch := phonenumbers.Patch{InboundURL: ptr("https://customer.example/in"), StatusURL: ptr(""), CampaignID: ptr(campaignID)}
	if !reflect.DeepEqual(update.Patch, wantPatch) {
		t.Errorf("got patch %s, want %s", describePatch(update.Patch), describePatch(wantPatch))
	}
	if !reflect.DeepEqual(update.Precondition, req.Precondition) {
		t.Errorf("got precondition %+v, want the request's %+v", update.Precondition, req.Precondition)
	}
	if !update.Now.Equal(clock) || update.Now.Location() != time.UTC {
		t.Errorf("got now %v, want %v in UTC", update.Now, clock.UTC())
	}
	if got.Principal == nil || !reflect.DeepEqual(*got.Principal, writer) {
		t.Errorf("got Principal %v, want %+v", got.Principal, writer)
	}
}

func TestServiceLooksUpTheKeyByTheHashOfTheSecret(t *testing.T) {
	t.Parallel()
	m := writerStorage()

	if _, err := newService(m).UpdatePhoneNumber(context.Background(), validRequest(`{}`)); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got, want := m.Calls().APIKeyHashes, []string{phonenumbers.HashSecret(phonenumbers.NewSecret(validSecret))}; !reflect.DeepEqual(got, want) {
		t.Errorf("got lookups by %q, want %q", got, want)
	}
}

// TestServiceReportsAPanicInTheConcurrentCampaignLookup: the lookup runs on its own goroutine,
// outside any recover of the caller's, so an unrecovered panic there would end the process.
func TestServiceReportsAPanicInTheConcurrentCampaignLookup(t *testing.T) {
	t.Parallel()
	m := writerStorage()
	// A campaign finder with a bug.
	m.BeforeFindCampaign = func(context.Context, string) error { panic("nil map in campaign finder") }

	_, err := newService(m).UpdatePhoneNumber(context.Background(), validRequest(`{"campaign_id":"`+campaignID+`"}`))

	if got := phonenumbers.KindOf(err); got != phonenumbers.KindInternal {
		t.Errorf("got kind %v (error %v), want internal", got, err)
	}
	if n := len(m.Calls().Updates); n != 0 {
		t.Errorf("got %d updates after a failed campaign lookup, want 0", n)
	}
}

func TestUpdateRequestNeverPrintsItsCredentialsOrBody(t *testing.T) {
	t.Parallel()
	const secret = "am_live_hHXcehB3VI3Z8RXHOOiVyw8ZGNXksFuA0Wn16LK6"
	req := phonenumbers.UpdateRequest{
		Secret:        phonenumbers.NewSecret(secret),
		PhoneNumberID: "497f6eca-6276-4993-bfeb-53cbbbba6f08",
		Body:          []byte(`{"label":"` + secret + `"}`),
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

// TestServiceReadsTheNumberConcurrentlyWithTheKey: for a patch that attaches a campaign, the
// number is read during the key lookup (neither fake answers before the other was called), so
// that the write is the only call after the key lookup.
func TestServiceReadsTheNumberConcurrentlyWithTheKey(t *testing.T) {
	t.Parallel()
	m := writerStorage()
	keyCalled, readCalled := make(chan struct{}), make(chan struct{})
	meet := func(announce chan struct{}, other <-chan struct{}, what string) error {
		close(announce)
		select {
		case <-other:
			return nil
		case <-time.After(testTimeout):
			return errors.New(what + " did not start while the other lookup was in flight")
		}
	}
	m.BeforeFindAPIKey = func(context.Context, string) error { return meet(keyCalled, readCalled, "number read") }
	m.BeforeFindPhoneNumber = func(context.Context, string) error { return meet(readCalled, keyCalled, "key lookup") }

	if _, err := newService(m).UpdatePhoneNumber(context.Background(), validRequest(`{"campaign_id":"`+campaignID+`"}`)); err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	calls := m.Calls()
	if n := len(calls.PhoneNumberIDs); n != 1 {
		t.Errorf("got %d number reads, want 1", n)
	}
	if n := len(calls.Updates) + len(calls.Attaches); n != 1 {
		t.Errorf("got %d writes, want 1", n)
	}
}

// TestServiceDecidesACampaignPatchFromTheNumberRead: rows 9 and 10 from the campaign read, then 11
// and 12 and the no-op from the number read, before any write; only a patch that changes the
// caller's number at a version its If-Match names is written.
func TestServiceDecidesACampaignPatchFromTheNumberRead(t *testing.T) {
	t.Parallel()
	corrupt := errors.New("corrupt phone number item: attribute sms_enabled: stored as S, want a boolean")
	attached := storedNumber()
	attached.CampaignID = ptr(campaignID)
	attached.Version = 3
	foreign := storedNumber()
	foreign.OrgID = otherOrgID
	notFound := wantErr{kind: phonenumbers.KindNotFound, message: "not found"}
	tests := []struct {
		name         string
		campaign     phonenumbers.Campaign
		number       phonenumbers.PhoneNumber
		numberErr    error
		cond         phonenumbers.Precondition
		want         *wantErr
		wantInternal bool
		wantWrite    bool
	}{
		{name: "an inactive campaign is 409 before a missing number", campaign: campaign(orgID, phonenumbers.CampaignExpired),
			numberErr: phonenumbers.NotFoundError(), want: &wantErr{kind: phonenumbers.KindCampaignNotActive, message: "campaign is not active"}},
		{name: "another organization's campaign is 422 before a foreign number", campaign: campaign(otherOrgID, phonenumbers.CampaignActive),
			number: foreign, want: ptrTo(fieldErrors(map[string]string{"campaign_id": "campaign not found"}))},
		{name: "a campaign stored without an organization is 422 campaign not found", campaign: campaign("", phonenumbers.CampaignActive),
			number: storedNumber(), want: ptrTo(fieldErrors(map[string]string{"campaign_id": "campaign not found"}))},
		{name: "a missing number is 404", campaign: campaign(orgID, phonenumbers.CampaignActive), numberErr: phonenumbers.NotFoundError(), want: &notFound},
		{name: "another organization's number is 404", campaign: campaign(orgID, phonenumbers.CampaignActive), number: foreign, want: &notFound},
		{name: "another organization's corrupt number is 404, not 500", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: phonenumbers.PhoneNumber{ID: numberID, OrgID: otherOrgID}, numberErr: corrupt, want: &notFound},
		{name: "another organization's number is 404 whatever the If-Match", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: foreign, cond: phonenumbers.NewPrecondition(false, 9), want: &notFound},
		{name: "the caller's corrupt number is internal", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: phonenumbers.PhoneNumber{ID: numberID, OrgID: orgID}, numberErr: corrupt, wantInternal: true},
		{name: "a version the If-Match does not name is 412", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: attached, cond: phonenumbers.NewPrecondition(false, 2), want: &wantErr{kind: phonenumbers.KindPreconditionFailed, message: "precondition failed"}},
		{name: "a patch equal to the number is answered without a write", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: attached},
		{name: "an equal patch with the stored version is answered without a write", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: attached, cond: phonenumbers.NewPrecondition(false, 3)},
		{name: "a change at the version named is written", campaign: campaign(orgID, phonenumbers.CampaignActive),
			number: storedNumber(), cond: phonenumbers.NewPrecondition(false, 0), wantWrite: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := storage(writer, nil, tt.campaign, nil, nil)
			if tt.number.ID != "" {
				m.PutPhoneNumber(tt.number)
			}
			if phonenumbers.KindOf(tt.numberErr) == phonenumbers.KindNotFound {
				// The number is not there at all.
				m = storage(writer, nil, tt.campaign, nil, phonenumbers.NotFoundError())
			} else if tt.numberErr != nil {
				// It is there, but does not decode.
				m.BeforeFindPhoneNumber = func(context.Context, string) error { return tt.numberErr }
			}
			svc := newService(m)
			req := validRequest(`{"campaign_id":"` + campaignID + `"}`)
			req.Precondition = tt.cond

			got, err := svc.UpdatePhoneNumber(context.Background(), req)

			switch {
			case tt.want != nil:
				checkErr(t, err, *tt.want)
			case tt.wantInternal:
				if kind := phonenumbers.KindOf(err); err == nil || kind != phonenumbers.KindInternal || !errors.Is(err, corrupt) {
					t.Errorf("got error %v (%v), want an internal error wrapping %v", err, kind, corrupt)
				}
			case err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantWrite:
				want := tt.number
				want.CampaignID, want.Version = ptr(campaignID), tt.number.Version+1
				if stored := m.PhoneNumbers()[numberID]; !reflect.DeepEqual(got.PhoneNumber, stored) ||
					stored.CampaignID == nil || *stored.CampaignID != campaignID || stored.Version != want.Version {
					t.Errorf("got %+v, stored %+v, want the number written with the campaign at version %d", got.PhoneNumber, stored, want.Version)
				}
			case !reflect.DeepEqual(got.PhoneNumber, tt.number):
				t.Errorf("got %+v, want the number %+v", got.PhoneNumber, tt.number)
			}
			if tt.want != nil && tt.want.kind == phonenumbers.KindPreconditionFailed {
				var e *phonenumbers.Error
				if errors.As(err, &e) && e.CurrentVersion != tt.number.Version {
					t.Errorf("got current version %d, want the stored %d", e.CurrentVersion, tt.number.Version)
				}
			}
			calls := m.Calls()
			if wrote := len(calls.Updates)+len(calls.Attaches) > 0; wrote != tt.wantWrite {
				t.Errorf("got written %v, want %v", wrote, tt.wantWrite)
			}
		})
	}
}
