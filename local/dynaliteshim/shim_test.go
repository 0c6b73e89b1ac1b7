package dynaliteshim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
)

// dynaliteEngine returns the shared dynalite, for behaviours of the shim that moto does not share.
func dynaliteEngine(t *testing.T) *engine.Engine {
	t.Helper()
	for _, e := range enginetest.Engines() {
		if e.Name == "dynalite" {
			return e
		}
	}
	t.Fatal("no dynalite running: call enginetest.Main(m) from TestMain")
	return nil
}

// addOne is a transaction item that counts how often it was applied.
func addOne(table, id string) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(table),
		Key:                       key(id),
		UpdateExpression:          aws.String("ADD #applied :one"),
		ExpressionAttributeNames:  map[string]string{"#applied": "applied"},
		ExpressionAttributeValues: item{":one": &types.AttributeValueMemberN{Value: "1"}},
	}}
}

func TestShimRefusesWhatItDoesNotImplementByName(t *testing.T) {
	t.Parallel()
	e := dynaliteEngine(t)
	run := newRun(t, e)
	client := run.client
	put(t, client, run.tables.Campaigns, campaign(campaignActive, orgA, "ACTIVE"))
	checkOnly := []types.TransactWriteItem{checkActive(run.tables, campaignActive, orgA, false)}
	write := []types.TransactWriteItem{addOne(run.tables.PhoneNumbers, numberA)}

	cases := []struct {
		name  string
		input *dynamodb.TransactWriteItemsInput
		want  string
	}{
		{"condition checks without a write", &dynamodb.TransactWriteItemsInput{TransactItems: checkOnly}, "ConditionCheck items only"},
		{"consumed capacity", &dynamodb.TransactWriteItemsInput{TransactItems: write, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}, "ReturnConsumedCapacity=TOTAL"},
		{"item collection metrics", &dynamodb.TransactWriteItemsInput{TransactItems: write, ReturnItemCollectionMetrics: types.ReturnItemCollectionMetricsSize}, "ReturnItemCollectionMetrics=SIZE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.TransactWriteItems(t.Context(), tc.input)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" || !strings.Contains(apiErr.ErrorMessage(), tc.want) {
				t.Fatalf("error = %v, want a ValidationException naming %q", err, tc.want)
			}
			if got := get(t, client, run.tables.PhoneNumbers, numberA); got != nil {
				t.Errorf("a refused transaction wrote %v", plain(t, got))
			}
		})
	}
}

// TestRetriedTransactionWithSameTokenAppliesOnce checks DynamoDB's ClientRequestToken
// idempotency, which the SDK relies on when it retries a transaction whose answer was lost: the
// retry succeeds without applying the writes again. moto ignores the token, so this is dynalite's
// shim alone.
func TestRetriedTransactionWithSameTokenAppliesOnce(t *testing.T) {
	t.Parallel()
	e := dynaliteEngine(t)
	run := newRun(t, e)
	client := run.client
	counter := func() string {
		t.Helper()
		n, ok := get(t, client, run.tables.PhoneNumbers, numberA)["applied"].(*types.AttributeValueMemberN)
		if !ok {
			return "none"
		}
		return n.Value
	}
	send := func(token string, items ...types.TransactWriteItem) error {
		_, err := client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: items, ClientRequestToken: aws.String(token)})
		return err
	}

	for range 2 {
		if err := send("token-1", addOne(run.tables.PhoneNumbers, numberA)); err != nil {
			t.Fatalf("TransactWriteItems with token-1: %v", err)
		}
	}
	if got := counter(); got != "1" {
		t.Errorf("applied %s times after a repeat with the same token, want 1", got)
	}
	var mismatch *types.IdempotentParameterMismatchException
	if err := send("token-1", addOne(run.tables.PhoneNumbers, numberB)); !errors.As(err, &mismatch) {
		t.Errorf("same token, other items: error = %v, want an IdempotentParameterMismatchException", err)
	}
	if err := send("token-2", addOne(run.tables.PhoneNumbers, numberA)); err != nil {
		t.Fatalf("TransactWriteItems with token-2: %v", err)
	}
	if got := counter(); got != "2" {
		t.Errorf("applied %s times after a second token, want 2", got)
	}
}

// TestAbortedRequestsLeaveTheEngineServing aborts requests while their body is being sent and
// while their answer is pending, then checks that the engine still serves plain requests and
// transactions: the process survives, and no aborted request keeps the shim's gate.
func TestAbortedRequestsLeaveTheEngineServing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, run *engineRun) {
		client := run.client
		put(t, client, run.tables.PhoneNumbers, number(numberA, orgA))
		endpoint, err := url.Parse(run.engine.Endpoint)
		if err != nil {
			t.Fatal(err)
		}

		// Bodies cut short: the connection closes before the announced length arrives.
		for _, target := range []string{"GetItem", "UpdateItem", "TransactWriteItems"} {
			conn, err := net.Dial("tcp", endpoint.Host)
			if err != nil {
				t.Fatalf("dial %s: %v", endpoint.Host, err)
			}
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: DynamoDB_20120810.%s\r\nContent-Length: 1000\r\n\r\n{\"TableName\":", endpoint.Host, target)
			conn.Close()
		}

		// Answers no longer awaited: each request's context is cancelled as soon as it is sent.
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if i%2 == 0 {
					go cancel()
					_, _ = client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(run.tables.PhoneNumbers), Key: key(numberA)})
					return
				}
				go cancel()
				_, _ = client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{addOne(run.tables.PhoneNumbers, numberB)}})
			})
		}
		wg.Wait()

		if _, err := client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			attach(run.tables, numberA, orgA, campaignActive, false),
		}}); err != nil {
			t.Fatalf("TransactWriteItems after aborted requests: %v", err)
		}
		if got := get(t, client, run.tables.PhoneNumbers, numberA)["campaign_id"]; got == nil {
			t.Errorf("the transaction after aborted requests wrote nothing")
		}
	})
}
