package dynaliteshim_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestOldItemOnConditionFailure checks ReturnValuesOnConditionCheckFailure=ALL_OLD on single
// writes: a failed condition returns the item it failed on, on every engine alike.
func TestOldItemOnConditionFailure(t *testing.T) {
	t.Parallel()
	mine := number(numberA, orgA)
	ownedBy := func(org string) (*string, map[string]string, map[string]types.AttributeValue) {
		return aws.String("attribute_exists(#id) AND #org = :org"), map[string]string{"#id": "id", "#org": "org_id"}, item{":org": str(org)}
	}
	allOld := types.ReturnValuesOnConditionCheckFailureAllOld

	cases := []struct {
		name   string
		stored []item
		write  func(client *dynamodb.Client, table string) error
		// wantOld is the item the failure carries; nil when it carries none.
		wantOld item
		// wantAfter is numberA afterwards.
		wantAfter item
	}{
		{
			name:   "a failed UpdateItem returns the item",
			stored: []item{mine},
			write: func(client *dynamodb.Client, table string) error {
				cond, names, values := ownedBy(orgB)
				names["#label"] = "label"
				values[":label"] = str("changed")
				_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
					TableName: aws.String(table), Key: key(numberA),
					UpdateExpression: aws.String("SET #label = :label"), ConditionExpression: cond,
					ExpressionAttributeNames: names, ExpressionAttributeValues: values,
					ReturnValues: types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: allOld,
				})
				return err
			},
			wantOld:   mine,
			wantAfter: mine,
		},
		{
			name: "a failed UpdateItem of a missing item returns no item and creates none",
			write: func(client *dynamodb.Client, table string) error {
				cond, names, values := ownedBy(orgA)
				_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
					TableName: aws.String(table), Key: key(numberA),
					UpdateExpression: aws.String("REMOVE #label"), ConditionExpression: cond,
					ExpressionAttributeNames:  map[string]string{"#id": names["#id"], "#org": names["#org"], "#label": "label"},
					ExpressionAttributeValues: values, ReturnValuesOnConditionCheckFailure: allOld,
				})
				return err
			},
		},
		{
			name:   "a failed PutItem returns the item",
			stored: []item{mine},
			write: func(client *dynamodb.Client, table string) error {
				_, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{
					TableName: aws.String(table), Item: number(numberA, orgB),
					ConditionExpression:      aws.String("attribute_not_exists(#id)"),
					ExpressionAttributeNames: map[string]string{"#id": "id"}, ReturnValuesOnConditionCheckFailure: allOld,
				})
				return err
			},
			wantOld:   mine,
			wantAfter: mine,
		},
		{
			name:   "a failed DeleteItem returns the item",
			stored: []item{mine},
			write: func(client *dynamodb.Client, table string) error {
				cond, names, values := ownedBy(orgB)
				_, err := client.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{
					TableName: aws.String(table), Key: key(numberA), ConditionExpression: cond,
					ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValuesOnConditionCheckFailure: allOld,
				})
				return err
			},
			wantOld:   mine,
			wantAfter: mine,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			acrossEngines(t, func(t *testing.T, run *engineRun) {
				table, client := run.tables.PhoneNumbers, run.client
				for _, it := range tc.stored {
					put(t, client, table, it)
				}
				err := tc.write(client, table)
				run.keepAnswer(t)
				var failed *types.ConditionalCheckFailedException
				if !errors.As(err, &failed) {
					t.Fatalf("write error = %v, want a ConditionalCheckFailedException", err)
				}
				if failed.ErrorMessage() != "The conditional request failed" {
					t.Errorf("message = %q, want %q", failed.ErrorMessage(), "The conditional request failed")
				}
				if !sameItem(t, failed.Item, tc.wantOld) {
					t.Errorf("old item = %v, want %v", plain(t, failed.Item), plain(t, tc.wantOld))
				}
				if got := get(t, client, table, numberA); !sameItem(t, got, tc.wantAfter) {
					t.Errorf("item afterwards = %v, want %v", plain(t, got), plain(t, tc.wantAfter))
				}
			})
		})
	}
}

// TestOldItemOnConditionFailureLeavesSuccessAlone checks that asking for the old item changes
// nothing when the condition holds.
func TestOldItemOnConditionFailureLeavesSuccessAlone(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, run *engineRun) {
		client := run.client
		mine := number(numberA, orgA)
		put(t, client, run.tables.PhoneNumbers, mine)
		out, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
			TableName: aws.String(run.tables.PhoneNumbers), Key: key(numberA),
			UpdateExpression:                    aws.String("SET #label = :label"),
			ConditionExpression:                 aws.String("#org = :org"),
			ExpressionAttributeNames:            map[string]string{"#label": "label", "#org": "org_id"},
			ExpressionAttributeValues:           item{":label": str("changed"), ":org": str(orgA)},
			ReturnValues:                        types.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err != nil {
			t.Fatalf("UpdateItem: %v", err)
		}
		want := with(mine, "label", "changed")
		if !sameItem(t, out.Attributes, want) {
			t.Errorf("attributes = %v, want %v", plain(t, out.Attributes), plain(t, want))
		}
		if got := get(t, client, run.tables.PhoneNumbers, numberA); !sameItem(t, got, want) {
			t.Errorf("item afterwards = %v, want %v", plain(t, got), plain(t, want))
		}
	})
}

// TestOldItemIsTheItemTheConditionFailedOn flips an item between two states while conditional
// updates that require one of them ask for the old item: every old item returned with a failed
// condition must fail that condition, that is, be the item the condition was evaluated on and
// not one read a moment later. (On dynalite the shim re-runs such a write alone before reading;
// dynalite's in-memory store rarely yields between two in-process steps, so this test shows the
// property on both engines rather than proving that the shim's gate is needed for it.)
func TestOldItemIsTheItemTheConditionFailedOn(t *testing.T) {
	t.Parallel()
	const (
		flippers = 4
		writers  = 6
		updates  = 100 // per writer
	)
	forEachEngine(t, func(t *testing.T, run *engineRun) {
		client := run.client
		table := run.tables.PhoneNumbers
		put(t, client, table, with(number(numberA, orgA), "status", "A"))

		done := make(chan struct{})
		var flips sync.WaitGroup
		for range flippers {
			flips.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					state := []string{"A", "B"}[i%2]
					if _, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
						TableName: aws.String(table), Key: key(numberA),
						UpdateExpression:          aws.String("SET #status = :state"),
						ExpressionAttributeNames:  map[string]string{"#status": "status"},
						ExpressionAttributeValues: item{":state": str(state)},
					}); err != nil {
						t.Errorf("flip to %s: %v", state, err)
						return
					}
				}
			})
		}

		var failures atomic.Int64
		var writes sync.WaitGroup
		for w := range writers {
			writes.Go(func() {
				for i := range updates {
					_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
						TableName: aws.String(table), Key: key(numberA),
						UpdateExpression:                    aws.String("SET #label = :label"),
						ConditionExpression:                 aws.String("#status = :a"),
						ExpressionAttributeNames:            map[string]string{"#status": "status", "#label": "label"},
						ExpressionAttributeValues:           item{":a": str("A"), ":label": str(fmt.Sprintf("w%d-%d", w, i))},
						ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
					})
					var failed *types.ConditionalCheckFailedException
					switch {
					case err == nil:
					case errors.As(err, &failed):
						failures.Add(1)
						if got := plain(t, failed.Item)["status"]; got != "B" {
							t.Errorf("a condition requiring status A failed on an item whose status is %v", got)
						}
					default:
						t.Errorf("conditional update: %v", err)
					}
				}
			})
		}
		writes.Wait()
		close(done)
		flips.Wait()
		if failures.Load() == 0 {
			t.Errorf("no condition failed: the flips never overlapped the updates")
		}
	})
}
