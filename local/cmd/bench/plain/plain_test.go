package plain_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/cmd/bench/plain"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// TestHandlerMakesTheFloorsCallsOnDynalite runs the reference handler against dynalite: the
// plain expressions must be accepted and do what the store's do, or the bench compares with
// nothing.
func TestHandlerMakesTheFloorsCallsOnDynalite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := engine.StartDynalite(ctx, 0)
	if err != nil {
		t.Fatalf("start dynalite: %v", err)
	}
	t.Cleanup(e.Stop)
	db, err := enginetest.NewClient(e.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	tables := dynamostore.Tables{APIKeys: "plain-keys", Campaigns: "plain-campaigns", PhoneNumbers: "plain-numbers"}
	if err := engine.CreateTables(ctx, db, tables); err != nil {
		t.Fatal(err)
	}
	const secret, org, otherOrg, number, foreign = "am_live_PlainTestSecret0123456789abcdefgh", "org-1", "org-2", "number-1", "number-2"
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	// A whole number, as the store writes it: the floor's condition requires the stored types.
	numberItem := func(id, org, label string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"id": s(id), "org_id": s(org), "label": s(label), "number": s("+14155550123"), "number_type": s("local"),
			"sms_enabled": &types.AttributeValueMemberBOOL{Value: true}, "mms_enabled": &types.AttributeValueMemberBOOL{Value: false},
			"created_at": s("2026-04-26T12:00:00Z"), "updated_at": s("2026-04-26T12:00:00Z"),
		}
	}
	for _, put := range []struct {
		table string
		item  map[string]types.AttributeValue
	}{
		{tables.APIKeys, map[string]types.AttributeValue{"key_hash": s(plain.HashSecret(secret)), "org_id": s(org)}},
		{tables.PhoneNumbers, numberItem(number, org, "old")},
		{tables.PhoneNumbers, numberItem(foreign, otherOrg, "theirs")},
	} {
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(put.table), Item: put.item}); err != nil {
			t.Fatal(err)
		}
	}
	h := &plain.Handler{DB: db, APIKeysTable: tables.APIKeys, NumbersTable: tables.PhoneNumbers}
	event := func(auth, id, label string) events.APIGatewayV2HTTPRequest {
		headers := map[string]string{}
		if auth != "" {
			headers["authorization"] = auth
		}
		return events.APIGatewayV2HTTPRequest{Headers: headers, PathParameters: map[string]string{"id": id}, Body: `{"label":"` + label + `"}`}
	}
	// stored returns the label and version of number id.
	stored := func(id string) (label, version string) {
		out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tables.PhoneNumbers), Key: map[string]types.AttributeValue{"id": s(id)}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := out.Item["label"].(*types.AttributeValueMemberS); ok {
			label = v.Value
		}
		if v, ok := out.Item["version"].(*types.AttributeValueMemberN); ok {
			version = v.Value
		}
		return label, version
	}

	for _, tt := range []struct {
		name       string
		ev         events.APIGatewayV2HTTPRequest
		wantStatus int
		wantBody   string
		// the label and version the item must have afterwards
		id, label, version string
	}{
		{"own number is updated and its version counted up from none", event("Bearer "+secret, number, "new"), 200, `"label":"new"`, number, "new", "1"},
		{"the same label again fails the condition", event("Bearer "+secret, number, "new"), 500, "INTERNAL", number, "new", "1"},
		{"another label counts the version up", event("Bearer "+secret, number, "newer"), 200, `"label":"newer"`, number, "newer", "2"},
		{"another organization's number is not written", event("Bearer "+secret, foreign, "mine"), 500, "INTERNAL", foreign, "theirs", ""},
		{"no Authorization is a 401", event("", number, "nope"), 401, "UNAUTHORIZED", number, "newer", "2"},
		{"an unknown key is a 401", event("Bearer am_live_Unknown", number, "nope"), 401, "UNAUTHORIZED", number, "newer", "2"},
	} {
		resp, err := h.Handle(ctx, tt.ev)
		if err != nil {
			t.Fatalf("%s: error %v", tt.name, err)
		}
		if resp.StatusCode != tt.wantStatus || !strings.Contains(resp.Body, tt.wantBody) {
			t.Errorf("%s: got %d %s, want %d with %s", tt.name, resp.StatusCode, resp.Body, tt.wantStatus, tt.wantBody)
		}
		if label, version := stored(tt.id); label != tt.label || version != tt.version {
			t.Errorf("%s: %s has label %q, version %q; want %q, %q", tt.name, tt.id, label, version, tt.label, tt.version)
		}
	}
}
