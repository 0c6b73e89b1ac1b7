package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

const testOrgID = "0b1c2d3e-4f50-4617-8a9b-acbdcedf0011"

var testNow = time.Date(2026, 4, 27, 9, 30, 0, 0, time.UTC)

func strPtr(s string) *string { return &s }

// placeholder matches a name or value placeholder in an expression.
var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// checkPlaceholders fails the test on a placeholder of req's expressions that has no name or
// value, and on names or values that no expression uses: DynamoDB refuses both.
func checkPlaceholders(t *testing.T, req updateRequest) {
	t.Helper()
	used := map[string]bool{}
	for _, p := range placeholder.FindAllString(req.update+" "+req.condition, -1) {
		used[p] = true
		_, isName := req.names[p]
		_, isValue := req.values[p]
		if !isName && !isValue {
			t.Errorf("placeholder %s has no name or value", p)
		}
	}
	for p := range req.names {
		if !used[p] {
			t.Errorf("name placeholder %s (%s) is unused; DynamoDB refuses unused names", p, req.names[p])
		}
	}
	for p := range req.values {
		if !used[p] {
			t.Errorf("value placeholder %s is unused; DynamoDB refuses unused values", p)
		}
	}
}

// written returns the attributes req's update expression writes (SET or REMOVE).
func written(t *testing.T, req updateRequest) []string {
	t.Helper()
	var attrs []string
	for _, clause := range regexp.MustCompile(`(SET|REMOVE) `).Split(req.update, -1) {
		for _, item := range strings.Split(clause, ", ") {
			// An item of the list starts with the name it writes; a piece that does not is the
			// rest of a function's arguments, such as if_not_exists(#version, :zero).
			name, _, _ := strings.Cut(strings.TrimSpace(item), " = ")
			if !strings.HasPrefix(name, "#") {
				continue
			}
			attr, ok := req.names[name]
			if !ok {
				t.Fatalf("update writes %q, which is not a name placeholder", name)
			}
			attrs = append(attrs, attr)
		}
	}
	return attrs
}

// storedTypes is the term of every update of a number that requires each attribute to have the
// type the store reads (finding 4), and storedTypesValues the values it and the SET use.
const storedTypes = " AND #number_type IN (:local, :toll_free, :short_code) AND attribute_type(#number, :s)" +
	" AND (attribute_not_exists(#inbound_url) OR attribute_type(#inbound_url, :s) OR attribute_type(#inbound_url, :null))" +
	" AND (attribute_not_exists(#status_url) OR attribute_type(#status_url, :s) OR attribute_type(#status_url, :null))" +
	" AND (attribute_not_exists(#label) OR attribute_type(#label, :s) OR attribute_type(#label, :null))" +
	" AND (attribute_not_exists(#campaign_id) OR attribute_type(#campaign_id, :s) OR attribute_type(#campaign_id, :null))" +
	" AND (attribute_not_exists(#carrier_line_option_status) OR attribute_type(#carrier_line_option_status, :s)" +
	" OR attribute_type(#carrier_line_option_status, :null))" +
	" AND (attribute_not_exists(#carrier_line_option_propagated_at) OR attribute_type(#carrier_line_option_propagated_at, :null)" +
	" OR attribute_type(#carrier_line_option_propagated_at, :s) AND #carrier_line_option_propagated_at BETWEEN :time_min AND :time_max)" +
	" AND (attribute_type(#sms_enabled, :bool) OR #sms_enabled = :false AND NOT attribute_type(#sms_enabled, :n))" +
	" AND (attribute_type(#mms_enabled, :bool) OR #mms_enabled = :false AND NOT attribute_type(#mms_enabled, :n))" +
	" AND attribute_type(#created_at, :s) AND #created_at BETWEEN :time_min AND :time_max" +
	" AND attribute_type(#updated_at, :s) AND #updated_at BETWEEN :time_min AND :time_max" +
	" AND (attribute_not_exists(#version) OR attribute_type(#version, :n) AND #version BETWEEN :zero AND :version_max)"

var storedTypesValues = map[string]string{
	":zero": "N:0", ":one": "N:1", ":s": "S:S", ":n": "S:N", ":null": "S:NULL", ":bool": "S:BOOL", ":false": "BOOL:false",
	":local": "S:local", ":toll_free": "S:toll_free", ":short_code": "S:short_code",
	":time_min": "S:0000-01-01T00:00:00Z", ":time_max": "S:9999-12-31T23:59:59Z", ":version_max": "N:9223372036854775807",
}

// TestPhoneNumberUpdateExpression shows the whole update of each kind of patch, as DynamoDB
// receives it. engine_test.go runs the same kinds of patch against both local engines.
func TestPhoneNumberUpdateExpression(t *testing.T) {
	t.Parallel()
	const (
		inbound = "https://customer.example/v2/inbound"
		status  = "https://customer.example/status"
		camp    = "78614b6c-fe7c-41e2-8e25-c9b3a3c91904"
	)
	const (
		// The parts of every update: updated_at, the version and the write's id, on an item that
		// exists and belongs to the caller.
		set   = "SET #updated_at = :now, #version = if_not_exists(#version, :zero) + :one, #write_id = :write_id"
		owned = "attribute_exists(#id) AND #org_id = :org_id" + storedTypes + " AND "
	)
	tests := []struct {
		name          string
		changes       []phonenumbers.Change
		cond          phonenumbers.Precondition
		wantUpdate    string
		wantCondition string
		wantValues    map[string]string // beyond those of every update
	}{
		{
			name:          "one value is SET with updated_at",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("support-line")}},
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "(attribute_not_exists(#label) OR #label <> :label)",
			wantValues:    map[string]string{":label": "S:support-line"},
		},
		{
			name:          "one cleared field is REMOVEd and updated_at SET",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldStatusURL}},
			wantUpdate:    set + " REMOVE #status_url",
			wantCondition: owned + "(attribute_exists(#status_url) AND NOT attribute_type(#status_url, :null))",
			wantValues:    nil,
		},
		{
			name: "values and clears mix, and any one difference is enough",
			changes: []phonenumbers.Change{
				{Field: phonenumbers.FieldInboundURL, Value: strPtr(inbound)},
				{Field: phonenumbers.FieldStatusURL},
				{Field: phonenumbers.FieldLabel},
				{Field: phonenumbers.FieldCampaignID, Value: strPtr(camp)},
			},
			wantUpdate: set + ", #inbound_url = :inbound_url, #campaign_id = :campaign_id REMOVE #status_url, #label",
			wantCondition: owned + "(attribute_not_exists(#inbound_url) OR #inbound_url <> :inbound_url" +
				" OR attribute_exists(#status_url) AND NOT attribute_type(#status_url, :null)" +
				" OR attribute_exists(#label) AND NOT attribute_type(#label, :null)" +
				" OR attribute_not_exists(#campaign_id) OR #campaign_id <> :campaign_id)",
			wantValues: map[string]string{":inbound_url": "S:" + inbound, ":campaign_id": "S:" + camp},
		},
		{
			name: "two values",
			changes: []phonenumbers.Change{
				{Field: phonenumbers.FieldInboundURL, Value: strPtr(inbound)},
				{Field: phonenumbers.FieldStatusURL, Value: strPtr(status)},
			},
			wantUpdate: set + ", #inbound_url = :inbound_url, #status_url = :status_url",
			wantCondition: owned + "(attribute_not_exists(#inbound_url) OR #inbound_url <> :inbound_url" +
				" OR attribute_not_exists(#status_url) OR #status_url <> :status_url)",
			wantValues: map[string]string{":inbound_url": "S:" + inbound, ":status_url": "S:" + status},
		},
		{
			name:          "value with quotes and expression syntax stays a value",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr(`x", org_id = :0 #1) OR (true`)}},
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "(attribute_not_exists(#label) OR #label <> :label)",
			wantValues:    map[string]string{":label": `S:x", org_id = :0 #1) OR (true`},
		},
		{
			name:          "If-Match * adds nothing: existence and ownership are all it asks",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("l")}},
			cond:          phonenumbers.NewPrecondition(true),
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "(attribute_not_exists(#label) OR #label <> :label)",
			wantValues:    map[string]string{":label": "S:l"},
		},
		{
			name:          "If-Match with one version",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("l")}},
			cond:          phonenumbers.NewPrecondition(false, 7),
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "#version IN (:v0) AND (attribute_not_exists(#label) OR #label <> :label)",
			wantValues:    map[string]string{":label": "S:l", ":v0": "N:7"},
		},
		{
			name:          "If-Match naming version 0 also matches a number stored without a version",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("l")}},
			cond:          phonenumbers.NewPrecondition(false, 3, 0),
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "(attribute_not_exists(#version) OR #version IN (:v0, :v1)) AND (attribute_not_exists(#label) OR #label <> :label)",
			wantValues:    map[string]string{":label": "S:l", ":v0": "N:3", ":v1": "N:0"},
		},
		{
			name:          "If-Match that can match nothing still makes the one write, which fails",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("l")}},
			cond:          phonenumbers.NewPrecondition(false),
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "attribute_not_exists(#id) AND (attribute_not_exists(#label) OR #label <> :label)",
			wantValues:    map[string]string{":label": "S:l"},
		},
		{
			name:          "If-Match with the most versions",
			changes:       []phonenumbers.Change{{Field: phonenumbers.FieldLabel, Value: strPtr("l")}},
			cond:          phonenumbers.NewPrecondition(false, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
			wantUpdate:    set + ", #label = :label",
			wantCondition: owned + "#version IN (:v0, :v1, :v2, :v3, :v4, :v5, :v6, :v7, :v8, :v9, :v10, :v11, :v12, :v13, :v14, :v15) AND (attribute_not_exists(#label) OR #label <> :label)",
			wantValues: map[string]string{":label": "S:l", ":v0": "N:1", ":v1": "N:2", ":v2": "N:3", ":v3": "N:4", ":v4": "N:5", ":v5": "N:6",
				":v6": "N:7", ":v7": "N:8", ":v8": "N:9", ":v9": "N:10", ":v10": "N:11", ":v11": "N:12", ":v12": "N:13", ":v13": "N:14",
				":v14": "N:15", ":v15": "N:16"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := phoneNumberUpdate(testOrgID, tt.changes, tt.cond, "write-1", phonenumbers.FormatTime(testNow))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if req.update != tt.wantUpdate {
				t.Errorf("got update\n\t%s\nwant\n\t%s", req.update, tt.wantUpdate)
			}
			if req.condition != tt.wantCondition {
				t.Errorf("got condition\n\t%s\nwant\n\t%s", req.condition, tt.wantCondition)
			}
			checkPlaceholders(t, req)
			wantValues := map[string]string{":org_id": "S:" + testOrgID, ":now": "S:2026-04-27T09:30:00Z", ":write_id": "S:write-1"}
			for k, v := range storedTypesValues {
				wantValues[k] = v
			}
			for k, v := range tt.wantValues {
				wantValues[k] = v
			}
			gotValues := map[string]string{}
			for k, v := range req.values {
				switch v := v.(type) {
				case *types.AttributeValueMemberS:
					gotValues[k] = "S:" + v.Value
				case *types.AttributeValueMemberN:
					gotValues[k] = "N:" + v.Value
				case *types.AttributeValueMemberBOOL:
					gotValues[k] = "BOOL:" + strconv.FormatBool(v.Value)
				default:
					t.Fatalf("value %s is %T, want a string or a number", k, v)
				}
			}
			if fmt.Sprint(gotValues) != fmt.Sprint(wantValues) {
				t.Errorf("got values %v, want %v", gotValues, wantValues)
			}
			for _, attr := range written(t, req) {
				if slices.Contains([]string{"id", "org_id", "number", "number_type", "sms_enabled", "mms_enabled", "created_at",
					"carrier_line_option_status", "carrier_line_option_propagated_at"}, attr) {
					t.Errorf("update writes %s, which a PATCH must never write", attr)
				}
			}
		})
	}
}

func TestVersionConditionRefusesMoreVersionsThanItCanName(t *testing.T) {
	t.Parallel()
	versions := make([]int64, phonenumbers.MaxPreconditionTags+1)
	_, err := phoneNumberUpdate(testOrgID, []phonenumbers.Change{{Field: phonenumbers.FieldLabel}},
		phonenumbers.NewPrecondition(false, versions...), "write-1", phonenumbers.FormatTime(testNow))
	if err == nil {
		t.Error("got no error for an If-Match of more versions than the condition can name, want one")
	}
}

func TestEveryUpdatableFieldHasExpressions(t *testing.T) {
	t.Parallel()
	for _, f := range phonenumbers.UpdatableFields {
		e, ok := expressionOf(f.Name)
		if !ok {
			t.Errorf("field %s has no entry in fieldExpressions", f.Name)
			continue
		}
		if e.name != "#"+e.attr || e.value != ":"+e.attr {
			t.Errorf("field %s: placeholders %s and %s, want #%s and :%s", f.Name, e.name, e.value, e.attr, e.attr)
		}
	}
	if len(fieldExpressions) != len(phonenumbers.UpdatableFields) {
		t.Errorf("fieldExpressions has %d entries, want one per updatable field (%d)", len(fieldExpressions), len(phonenumbers.UpdatableFields))
	}
}

func TestUpdateWritesUpdatedAtInUTC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{name: "UTC time is written as is", now: testNow, want: "2026-04-27T09:30:00Z"},
		{name: "zoned time is converted to UTC", now: time.Date(2026, 4, 27, 11, 30, 0, 0, time.FixedZone("CEST", 2*3600)), want: "2026-04-27T09:30:00Z"},
		{name: "sub-second precision is dropped", now: testNow.Add(987 * time.Millisecond), want: "2026-04-27T09:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := phonenumbers.FormatTime(tt.now); got != tt.want {
				t.Errorf("got updated_at %s, want %s", got, tt.want)
			}
		})
	}
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
			err := storageError(tt.err)
			if got := phonenumbers.KindOf(err); got != wantKind {
				t.Errorf("got storageError kind %v, want %v", got, wantKind)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("got storageError %v, want it to wrap %v", err, tt.err)
			}
			// The store adds no words of its own: the domain says what it was doing.
			wantText := tt.err.Error()
			if tt.want {
				wantText = "unavailable: " + phonenumbers.MessageUnavailable + ": " + wantText
			}
			if err.Error() != wantText {
				t.Errorf("got storageError text %q, want %q", err.Error(), wantText)
			}
		})
	}
}

// TestAttachExpressions shows the two items of the attach transaction as DynamoDB receives them.
func TestAttachExpressions(t *testing.T) {
	t.Parallel()
	const set = "SET #updated_at = :now, #version = if_not_exists(#version, :zero) + :one, #write_id = :write_id"
	changes := []phonenumbers.Change{
		{Field: phonenumbers.FieldStatusURL},
		{Field: phonenumbers.FieldCampaignID, Value: strPtr("78614b6c-fe7c-41e2-8e25-c9b3a3c91904")},
	}
	for _, tt := range []struct {
		name          string
		readVersion   int64
		wantCondition string
		wantVersion   string // the value of :read_version, "" for none
	}{
		{"pinned to the version read", 4, "attribute_exists(#id) AND #org_id = :org_id" + storedTypes + " AND #version = :read_version", "4"},
		{"pinned to version 0, which a number stored without one has",
			0, "attribute_exists(#id) AND #org_id = :org_id" + storedTypes + " AND (attribute_not_exists(#version) OR #version = :zero)", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := pinnedPhoneNumberUpdate(testOrgID, changes, tt.readVersion, "write-1", phonenumbers.FormatTime(testNow))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if want := set + ", #campaign_id = :campaign_id REMOVE #status_url"; req.update != want {
				t.Errorf("got update\n\t%s\nwant\n\t%s", req.update, want)
			}
			if req.condition != tt.wantCondition {
				t.Errorf("got condition\n\t%s\nwant\n\t%s", req.condition, tt.wantCondition)
			}
			checkPlaceholders(t, req)
			got, _ := req.values[":read_version"].(*types.AttributeValueMemberN)
			if (got == nil) != (tt.wantVersion == "") || got != nil && got.Value != tt.wantVersion {
				t.Errorf("got :read_version %v, want %q", req.values[":read_version"], tt.wantVersion)
			}
		})
	}
	t.Run("the campaign's check", func(t *testing.T) {
		t.Parallel()
		check := campaignCheck(testOrgID)
		if want := "attribute_exists(#id) AND #org_id = :org_id AND #status = :active"; check.condition != want {
			t.Errorf("got condition\n\t%s\nwant\n\t%s", check.condition, want)
		}
		checkPlaceholders(t, check)
		if got := check.values[":active"].(*types.AttributeValueMemberS).Value; got != "ACTIVE" {
			t.Errorf("got :active %q, want ACTIVE", got)
		}
	})
}
