package apigw_test

// Handler overhead: the real handler, service and authenticator, called in process with an
// already-decoded event, over storage stubs that answer instantly. What is left is the cost this
// code adds to a request: parsing and validation, hashing the secret, building the response, and
// the JSON log line (written to io.Discard, but encoded all the same). They are absolute figures
// for profiling (go test -bench . -benchmem ./pkg/apigw), not comparisons: make bench does not run
// them; it measures the full path against a same-work reference (local/cmd/bench/fullpath_test.go).

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// benchKeys, benchCampaigns and benchNumbers are the instant storage stubs. They are not the
// shared fake (phonenumberstest.MemStore) on purpose: that one locks, copies and records every
// call, and its allocations would be counted here as the handler's.
type benchKeys map[string]phonenumbers.APIKey

func (k benchKeys) FindAPIKey(_ context.Context, hash string) (phonenumbers.APIKey, error) {
	key, ok := k[hash]
	if !ok {
		return phonenumbers.APIKey{}, phonenumbers.NotFoundError()
	}
	return key, nil
}

type benchCampaigns struct{}

func (benchCampaigns) FindCampaign(context.Context, string) (phonenumbers.Campaign, error) {
	return phonenumbers.Campaign{}, phonenumbers.NotFoundError()
}

// benchNumbers answers an update with the stored number the patch produces, as the store does.
type benchNumbers struct{ stored phonenumbers.PhoneNumber }

func (b benchNumbers) UpdatePhoneNumber(_ context.Context, _, _ string, p phonenumbers.Patch, _ phonenumbers.Precondition, now time.Time) (phonenumbers.PhoneNumber, error) {
	n := b.stored
	if p.InboundURL != nil {
		n.InboundURL = p.InboundURL
	}
	if p.Label != nil {
		n.Label = p.Label
	}
	n.UpdatedAt = now
	return n, nil
}

// FindPhoneNumber and AttachCampaign serve patches with a campaign, which benchCampaigns never
// finds, so they are never reached.
func (b benchNumbers) FindPhoneNumber(context.Context, string) (phonenumbers.PhoneNumber, error) {
	return b.stored, nil
}

func (benchNumbers) AttachCampaign(context.Context, string, phonenumbers.PhoneNumber, phonenumbers.Patch, phonenumbers.Precondition, time.Time) (phonenumbers.PhoneNumber, error) {
	return phonenumbers.PhoneNumber{}, errors.New("bench: no campaign is ever attachable")
}

// benchHandler returns the production wiring over the stubs, logging JSON to io.Discard at the
// production level (INFO), and the testdata success event.
func benchHandler(b *testing.B) (*apigw.Handler, events.APIGatewayV2HTTPRequest) {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", baseEvent))
	if err != nil {
		b.Fatalf("read event: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		b.Fatalf("unmarshal event: %v", err)
	}
	created := time.Date(2026, 4, 26, 12, 0, 0, 0, time.UTC)
	keys := benchKeys{phonenumbers.HashSecret(phonenumbers.NewSecret(eventSecret)): {
		ID: keyID, OrgID: orgID, Scopes: []string{"numbers:read", phonenumbers.ScopeNumbersWrite}, CreatedAt: created,
	}}
	status := "pending"
	numbers := benchNumbers{stored: phonenumbers.PhoneNumber{
		ID: numberID, OrgID: orgID, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
		CarrierLineOptionStatus: &status, SMSEnabled: true, MMSEnabled: true, CreatedAt: created, UpdatedAt: created,
	}}
	svc := phonenumbers.NewService(keys, benchCampaigns{}, numbers, nil)
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// A function name, as Lambda sets it: the request line then carries its metrics (metrics.go).
	return apigw.NewHandler(svc, logger, apigw.WithFunctionName("phone-numbers-update-phone-number")), ev
}

// runHandler calls h.Handle b.N times with ev under a context with a deadline, as the Lambda
// runtime gives, and checks every status.
func runHandler(b *testing.B, h *apigw.Handler, ev events.APIGatewayV2HTTPRequest, wantStatus int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := h.Handle(ctx, ev)
		if err != nil || resp.StatusCode != wantStatus {
			b.Fatalf("got status %d, error %v, want %d (body %s)", resp.StatusCode, err, wantStatus, resp.Body)
		}
	}
}

func BenchmarkHandlerSuccess(b *testing.B) {
	h, ev := benchHandler(b)
	runHandler(b, h, ev, http.StatusOK)
}

// BenchmarkHandlerValidationFailed is a 422: the key is valid, then one field fails its check.
func BenchmarkHandlerValidationFailed(b *testing.B) {
	h, ev := benchHandler(b)
	ev.Body = `{"inbound_url":"ftp://customer.example/v2/inbound","label":"support-line"}`
	runHandler(b, h, ev, http.StatusUnprocessableEntity)
}

// BenchmarkHandlerUnauthorized is a 401 for a well-formed secret no key has: the secret is
// hashed and looked up, as for a real caller with a wrong key.
func BenchmarkHandlerUnauthorized(b *testing.B) {
	h, ev := benchHandler(b)
	ev.Headers["authorization"] = "Bearer am_live_" + "UnknownUnknownUnknownUnknownUnknown0"
	runHandler(b, h, ev, http.StatusUnauthorized)
}
