package apigw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/local/emfcheck"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/callcount"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

// TestRequestLogLineIsAnEMFDocument runs requests with different outcomes through the handler and
// checks each one's real log line against the Embedded Metric Format specification: the metrics
// CloudWatch would extract are the request's duration and storage calls, per function and per
// function and outcome, and nothing else.
func TestRequestLogLineIsAnEMFDocument(t *testing.T) {
	t.Parallel()
	const function = "phone-numbers-update-phone-number"
	principal := &phonenumbers.Principal{KeyID: keyID, OrgID: orgID, Scopes: []string{phonenumbers.ScopeNumbersWrite}}
	respondAfter := func(calls int, result phonenumbers.UpdateResult, err error) *fakeUpdater {
		return &fakeUpdater{respond: func(ctx context.Context, _ phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
			for range calls {
				callcount.Add(ctx)
			}
			return result, err
		}}
	}
	tests := []struct {
		name        string
		updater     apigw.Updater
		wantOutcome string
		wantCalls   float64
	}{
		{"success", respondAfter(2, phonenumbers.UpdateResult{Principal: principal, PhoneNumber: phonenumbers.PhoneNumber{ID: numberID}}, nil), apigw.OutcomeOK, 2},
		{"not found", respondAfter(2, phonenumbers.UpdateResult{Principal: principal}, phonenumbers.NotFoundError()), apigw.CodeNotFound, 2},
		{"unauthenticated without storage", respondAfter(0, phonenumbers.UpdateResult{}, phonenumbers.UnauthenticatedError()), apigw.CodeUnauthorized, 0},
		{"unavailable", respondAfter(3, phonenumbers.UpdateResult{Principal: principal}, phonenumbers.UnavailableError(errors.New("throttled"))), apigw.CodeServiceUnavailable, 3},
		{"internal", respondAfter(1, phonenumbers.UpdateResult{Principal: principal}, errors.New("boom")), apigw.CodeInternal, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, logs := newHandler(tt.updater, apigw.WithFunctionName(function))
			before := time.Now()
			invoke(t, context.Background(), h, loadEvent(t, baseEvent))
			after := time.Now()
			lines := bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n"))
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1:\n%s", len(lines), logs)
			}
			metrics, err := emfcheck.Check(lines[0])
			if err != nil {
				t.Fatalf("the request log line is not valid EMF: %v\n%s", err, lines[0])
			}
			var line struct {
				Duration float64 `json:"duration_ms"`
				Calls    float64 `json:"storage_calls"`
				AWS      struct {
					Timestamp int64
				} `json:"_aws"`
			}
			if err := json.Unmarshal(lines[0], &line); err != nil {
				t.Fatal(err)
			}
			if ts := time.UnixMilli(line.AWS.Timestamp); ts.Before(before.Truncate(time.Millisecond)) || ts.After(after) {
				t.Errorf("_aws.Timestamp %s, want the time of the request, %s to %s", ts, before, after)
			}

			perFunction := map[string]string{apigw.DimensionFunction: function}
			perOutcome := map[string]string{apigw.DimensionFunction: function, apigw.DimensionOutcome: tt.wantOutcome}
			want := []emfcheck.Metric{
				{Namespace: apigw.MetricsNamespace, Name: apigw.MetricDuration, Unit: "Milliseconds", Dimensions: perFunction, Values: []float64{line.Duration}},
				{Namespace: apigw.MetricsNamespace, Name: apigw.MetricDuration, Unit: "Milliseconds", Dimensions: perOutcome, Values: []float64{line.Duration}},
				{Namespace: apigw.MetricsNamespace, Name: apigw.MetricStorageCalls, Unit: "Count", Dimensions: perFunction, Values: []float64{tt.wantCalls}},
				{Namespace: apigw.MetricsNamespace, Name: apigw.MetricStorageCalls, Unit: "Count", Dimensions: perOutcome, Values: []float64{tt.wantCalls}},
			}
			if !reflect.DeepEqual(metrics, want) {
				t.Errorf("metrics:\n got %+v\nwant %+v", metrics, want)
			}
			if line.Calls != tt.wantCalls || line.Duration < 0 {
				t.Errorf("storage_calls %v, duration_ms %v; want %v calls and a duration", line.Calls, line.Duration, tt.wantCalls)
			}
		})
	}
}

// TestRequestMetricsHaveNoPerCallerDimension keeps metrics cheap and free of tenant data: no
// organization, key, number or request id is ever a dimension, whatever the request.
func TestRequestMetricsHaveNoPerCallerDimension(t *testing.T) {
	t.Parallel()
	principal := &phonenumbers.Principal{KeyID: keyID, OrgID: orgID, Scopes: []string{phonenumbers.ScopeNumbersWrite}}
	h, logs := newHandler(&fakeUpdater{respond: func(context.Context, phonenumbers.UpdateRequest) (phonenumbers.UpdateResult, error) {
		return phonenumbers.UpdateResult{Principal: principal, PhoneNumber: phonenumbers.PhoneNumber{ID: numberID}}, nil
	}}, apigw.WithFunctionName("fn"))
	invoke(t, context.Background(), h, loadEvent(t, baseEvent))
	metrics, err := emfcheck.Check(bytes.TrimSpace(logs.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{apigw.DimensionFunction, apigw.DimensionOutcome}
	for _, m := range metrics {
		for _, d := range slices.Sorted(maps.Keys(m.Dimensions)) {
			if !slices.Contains(allowed, d) {
				t.Errorf("metric %s has the dimension %s; want only %v", m.Name, d, allowed)
			}
		}
	}
}

// TestRequestLogLineOutsideLambdaCarriesNoMetrics: with no function to attribute them to (the
// local server), the line stays a plain log line rather than an EMF document with an empty
// dimension.
func TestRequestLogLineOutsideLambdaCarriesNoMetrics(t *testing.T) {
	t.Parallel()
	h, logs := newHandler(failWith(phonenumbers.NotFoundError()), apigw.WithFunctionName(""))
	invoke(t, context.Background(), h, loadEvent(t, baseEvent))
	var line map[string]any
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"_aws", apigw.DimensionFunction, apigw.DimensionOutcome} {
		if _, ok := line[k]; ok {
			t.Errorf("got %s in the line of a handler with no function name: %v", k, line)
		}
	}
}
