package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

const testOrgID = "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011"

var testNow = time.Date(2026, 4, 27, 9, 30, 0, 0, time.UTC)

func strPtr(s string) *string { return &s }

// resolved is an update expression with its placeholders replaced by the names and values they
// stand for, so that tests read like the statement DynamoDB runs.
type resolved struct {
	set       map[string]string // attribute -> quoted value
	remove    []string          // sorted
	condition string
}

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// resolve replaces every placeholder of expr and fails the test on one that has no name or value,
// and on names or values that no expression uses (DynamoDB refuses those).
func resolve(t *testing.T, expr expression.Expression) resolved {
	t.Helper()
	names, values := expr.Names(), expr.Values()
	used := map[string]bool{}
	sub := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(p string) string {
			used[p] = true
			if p[0] == '#' {
				name, ok := names[p]
				if !ok {
					t.Fatalf("placeholder %s has no name", p)
				}
				return name
			}
			v, ok := values[p]
			if !ok {
				t.Fatalf("placeholder %s has no value", p)
			}
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				t.Fatalf("value %s is %T, want a string", p, v)
			}
			return strconv.Quote(s.Value)
		})
	}
	if expr.Update() == nil || expr.Condition() == nil {
		t.Fatalf("got update %v and condition %v, want both", expr.Update(), expr.Condition())
	}
	out := resolved{set: map[string]string{}, condition: sub(*expr.Condition())}
	// The raw update holds only placeholders, so it is split before they are replaced: values
	// may contain anything.
	for _, clause := range strings.Split(strings.TrimSpace(*expr.Update()), "\n") {
		action, list, _ := strings.Cut(clause, " ")
		for _, item := range strings.Split(list, ", ") {
			switch action {
			case "SET":
				name, value, ok := strings.Cut(item, " = ")
				if !ok {
					t.Fatalf("cannot read SET item %q", item)
				}
				name, value = sub(name), sub(value)
				if _, dup := out.set[name]; dup {
					t.Errorf("attribute %s is set twice", name)
				}
				out.set[name] = value
			case "REMOVE":
				out.remove = append(out.remove, sub(item))
			default:
				t.Fatalf("unexpected update clause %q", clause)
			}
		}
	}
	sort.Strings(out.remove)
	for p := range names {
		if !used[p] {
			t.Errorf("name placeholder %s (%s) is unused; DynamoDB refuses unused names", p, names[p])
		}
	}
	for p := range values {
		if !used[p] {
			t.Errorf("value placeholder %s is unused; DynamoDB refuses unused values", p)
		}
	}
	return out
}

func TestUpdateExpression(t *testing.T) {
	t.Parallel()
	const (
		inbound = "https://customer.example/v2/inbound"
		status  = "https://customer.example/status"
		camp    = "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"
	)
	exists := `(attribute_exists (id)) AND (org_id = "` + testOrgID + `")`
	updatedAt := `"2026-04-27T09:30:00Z"`
	differs := func(attr, value string) string {
		return `(attribute_not_exists (` + attr + `)) OR (` + attr + ` <> "` + value + `")`
	}
	// A cleared field differs only when it holds a value: absent and NULL both read as cleared.
	present := func(attr string) string {
		return `(attribute_exists (` + attr + `)) AND (NOT (attribute_type (` + attr + `, "NULL")))`
	}
	tests := []struct {
		name          string
		changes       []phonenumbers.Change
		wantSet       map[string]string
		wantRemove    []string
		wantCondition string
	}{
		{
			name:          "one value is SET with updated_at",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("support-line")}},
			wantSet:       map[string]string{"label": `"support-line"`, "updated_at": updatedAt},
			wantCondition: exists + ` AND (` + differs("label", "support-line") + `)`,
		},
		{
			name:          "one cleared field is REMOVEd and updated_at SET",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldStatusURL}},
			wantSet:       map[string]string{"updated_at": updatedAt},
			wantRemove:    []string{"status_url"},
			wantCondition: exists + ` AND (` + present("status_url") + `)`,
		},
		{
			name: "values and clears mix, and any one difference is enough",
			changes: []phonenumbers.Change{
				{Field: phonenumbers.FieldInboundURL, Value: strPtr(inbound)},
				{Field: phonenumbers.FieldStatusURL},
				{Field: phonenumbers.FieldLabel},
				{Field: phonenumbers.FieldCampaignID, Value: strPtr(camp)},
			},
			wantSet:    map[string]string{"inbound_url": strconv.Quote(inbound), "campaign_id": strconv.Quote(camp), "updated_at": updatedAt},
			wantRemove: []string{"label", "status_url"},
			wantCondition: exists + ` AND ((` + differs("inbound_url", inbound) + `) OR (` + present("status_url") + `) OR ` +
				`(` + present("label") + `) OR (` + differs("campaign_id", camp) + `))`,
		},
		{
			name: "two values",
			changes: []phonenumbers.Change{
				{Field: phonenumbers.FieldInboundURL, Value: strPtr(inbound)},
				{Field: phonenumbers.FieldStatusURL, Value: strPtr(status)},
			},
			wantSet:       map[string]string{"inbound_url": strconv.Quote(inbound), "status_url": strconv.Quote(status), "updated_at": updatedAt},
			wantCondition: exists + ` AND ((` + differs("inbound_url", inbound) + `) OR (` + differs("status_url", status) + `))`,
		},
		{
			name:          "value with quotes and expression syntax stays a value",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr(`x", org_id = :0 #1`)}},
			wantSet:       map[string]string{"label": strconv.Quote(`x", org_id = :0 #1`), "updated_at": updatedAt},
			wantCondition: exists + ` AND ((attribute_not_exists (label)) OR (label <> ` + strconv.Quote(`x", org_id = :0 #1`) + `))`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expr, err := updateExpression(testOrgID, tt.changes, testNow)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			got := resolve(t, expr)
			if fmt.Sprint(got.set) != fmt.Sprint(tt.wantSet) {
				t.Errorf("got SET %v, want %v", got.set, tt.wantSet)
			}
			if fmt.Sprint(got.remove) != fmt.Sprint(sorted(tt.wantRemove)) {
				t.Errorf("got REMOVE %v, want %v", got.remove, sorted(tt.wantRemove))
			}
			if got.condition != tt.wantCondition {
				t.Errorf("got condition\n\t%s\nwant\n\t%s", got.condition, tt.wantCondition)
			}
			for _, forbidden := range []string{"id", "org_id", "number", "number_type", "sms_enabled", "mms_enabled", "created_at",
				"carrier_line_option_status", "carrier_line_option_propagated_at"} {
				if _, ok := got.set[forbidden]; ok {
					t.Errorf("got SET of %s, which a PATCH must never write", forbidden)
				}
				for _, r := range got.remove {
					if r == forbidden {
						t.Errorf("got REMOVE of %s, which a PATCH must never write", forbidden)
					}
				}
			}
		})
	}
}

func TestUpdateExpressionWritesUpdatedAtInUTC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{name: "UTC time is written as is", now: testNow, want: `"2026-04-27T09:30:00Z"`},
		{name: "zoned time is converted to UTC", now: time.Date(2026, 4, 27, 11, 30, 0, 0, time.FixedZone("CEST", 2*3600)), want: `"2026-04-27T09:30:00Z"`},
		{name: "sub-second precision is dropped", now: testNow.Add(987 * time.Millisecond), want: `"2026-04-27T09:30:00Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expr, err := updateExpression(testOrgID, []phonenumbers.Change{{Field: phonenumbers.FieldLabel}}, tt.now)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := resolve(t, expr).set["updated_at"]; got != tt.want {
				t.Errorf("got updated_at %s, want %s", got, tt.want)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// responseError builds the error the SDK returns for an HTTP response with the given status.
func responseError(status int, cause error) error {
	return &smithy.OperationError{
		ServiceID:     "DynamoDB",
		OperationName: "UpdateItem",
		Err: &awshttp.ResponseError{
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
				Err:      cause,
			},
			RequestID: "REQ123",
		},
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "provisioned throughput exceeded", err: &types.ProvisionedThroughputExceededException{Message: strPtr("slow down")}, want: true},
		{name: "request limit exceeded", err: &types.RequestLimitExceeded{}, want: true},
		{name: "throttling exception", err: &types.ThrottlingException{}, want: true},
		{name: "throttling in a 400 response", err: responseError(400, &types.ProvisionedThroughputExceededException{}), want: true},
		{name: "generic throttling code", err: &smithy.GenericAPIError{Code: "ThrottlingException"}, want: true},
		{name: "500 response", err: responseError(500, &types.InternalServerError{}), want: true},
		{name: "502 response", err: responseError(502, errors.New("bad gateway")), want: true},
		{name: "503 response", err: responseError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), want: true},
		{name: "504 response", err: responseError(504, errors.New("gateway timeout")), want: true},
		{name: "retries exhausted", err: &retry.MaxAttemptsError{Attempt: 3, Err: responseError(500, &types.InternalServerError{})}, want: true},
		{name: "wrapped retries exhausted", err: fmt.Errorf("update phone number: %w", &retry.MaxAttemptsError{Attempt: 3, Err: errors.New("x")}), want: true},
		{name: "conflict with another writer's transaction", err: responseError(400, &types.TransactionConflictException{}), want: true},
		{name: "conflict with a write in another replica region", err: &types.ReplicatedWriteConflictException{}, want: true},
		{name: "context deadline", err: context.DeadlineExceeded, want: true},
		{name: "wrapped context deadline", err: &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "GetItem", Err: fmt.Errorf("send: %w", context.DeadlineExceeded)}, want: true},
		{name: "conditional check failed", err: &types.ConditionalCheckFailedException{}, want: false},
		{name: "conditional check failed in a 400 response", err: responseError(400, &types.ConditionalCheckFailedException{}), want: false},
		{name: "validation exception", err: &smithy.GenericAPIError{Code: "ValidationException", Message: "Invalid UpdateExpression"}, want: false},
		{name: "validation exception in a 400 response", err: responseError(400, &smithy.GenericAPIError{Code: "ValidationException"}), want: false},
		{name: "missing table", err: responseError(400, &types.ResourceNotFoundException{}), want: false},
		{name: "access denied", err: responseError(400, &smithy.GenericAPIError{Code: "AccessDeniedException"}), want: false},
		{name: "unclassified error", err: errors.New("boom"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := isTransient(tt.err); got != tt.want {
				t.Errorf("isTransient(%v) = %v, want %v", tt.err, got, tt.want)
			}
			wantKind := phonenumbers.KindInternal
			if tt.want {
				wantKind = phonenumbers.KindUnavailable
			}
			err := storageError("update phone number", tt.err)
			if got := phonenumbers.KindOf(err); got != wantKind {
				t.Errorf("got storageError kind %v, want %v", got, wantKind)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("got storageError %v, want it to wrap %v", err, tt.err)
			}
		})
	}
}
