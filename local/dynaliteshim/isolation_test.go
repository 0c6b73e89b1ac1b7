package dynaliteshim_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestCampaignFlippedDuringAttachesIsNeverAttachedAfterwards runs many transactions that attach
// one campaign to distinct numbers (contract §4's ConditionCheck plus update) while the campaign
// is flipped to EXPIRED. Each transaction also appends its number to a log item, and the flip
// appends a marker to the same log in the same transaction, so the log orders every write against
// the flip. Each transaction must either see ACTIVE and write everything, or cancel and write
// nothing; none may write after the flip, which is what a check that does not hold until the
// write lets through.
func TestCampaignFlippedDuringAttachesIsNeverAttachedAfterwards(t *testing.T) {
	t.Parallel()
	const (
		numbers        = 120
		workers        = 8
		flipAfter      = 20 // successful attaches before the flip
		logID          = "log"
		flipMarker     = "FLIP"
		campaignStatus = "ACTIVE"
	)
	forEachEngine(t, func(t *testing.T, run *engineRun) {
		client := run.client
		put(t, client, run.tables.Campaigns, campaign(campaignActive, orgA, campaignStatus))
		for i := range numbers {
			put(t, client, run.tables.PhoneNumbers, number(numberID(i), orgA))
		}
		put(t, client, run.tables.PhoneNumbers, item{"id": str(logID), "entries": &types.AttributeValueMemberL{}})

		appendToLog := func(entry string) types.TransactWriteItem {
			return types.TransactWriteItem{Update: &types.Update{
				TableName:                 aws.String(run.tables.PhoneNumbers),
				Key:                       key(logID),
				UpdateExpression:          aws.String("SET #entries = list_append(#entries, :entry)"),
				ExpressionAttributeNames:  map[string]string{"#entries": "entries"},
				ExpressionAttributeValues: item{":entry": &types.AttributeValueMemberL{Value: []types.AttributeValue{str(entry)}}},
			}}
		}

		var (
			next, successes atomic.Int64
			flipped         = make(chan struct{})
			flipDone        atomic.Bool
			mu              sync.Mutex
			outcome         = make([]string, numbers) // "attached" or "cancelled"
			startedAfter    = make([]bool, numbers)   // sent after the flip had returned
		)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= numbers {
						return
					}
					after := flipDone.Load()
					_, err := client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
						checkActive(run.tables, campaignActive, orgA, false),
						attach(run.tables, numberID(i), orgA, campaignActive, false),
						appendToLog(numberID(i)),
					}})
					var canceled *types.TransactionCanceledException
					var result string
					switch {
					case err == nil:
						result = "attached"
						if successes.Add(1) == flipAfter {
							close(flipped)
						}
					case errors.As(err, &canceled) && slices.Equal(reasonCodes(canceled), []string{"ConditionalCheckFailed", "None", "None"}):
						result = "cancelled"
					default:
						t.Errorf("transaction %d: %v, want success or a cancellation by the campaign check", i, err)
					}
					mu.Lock()
					outcome[i], startedAfter[i] = result, after
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			select {
			case <-flipped:
			case <-t.Context().Done():
				return
			}
			_, err := client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{Update: &types.Update{
					TableName:                 aws.String(run.tables.Campaigns),
					Key:                       key(campaignActive),
					UpdateExpression:          aws.String("SET #status = :expired"),
					ExpressionAttributeNames:  map[string]string{"#status": "status"},
					ExpressionAttributeValues: item{":expired": str("EXPIRED")},
				}},
				appendToLog(flipMarker),
			}})
			if err != nil {
				t.Errorf("flip the campaign to EXPIRED: %v", err)
			}
			flipDone.Store(true)
		})
		wg.Wait()
		if t.Failed() {
			return
		}

		log := get(t, client, run.tables.PhoneNumbers, logID)["entries"].(*types.AttributeValueMemberL).Value
		var entries []string
		for _, v := range log {
			entries = append(entries, v.(*types.AttributeValueMemberS).Value)
		}
		flipAt := slices.Index(entries, flipMarker)
		if flipAt < 0 {
			t.Fatalf("log %v has no flip marker", entries)
		}
		if after := entries[flipAt+1:]; len(after) > 0 {
			t.Errorf("%d attaches were written after the campaign left ACTIVE: %v", len(after), after)
		}

		attached, cancelled := 0, 0
		for i := range numbers {
			id := numberID(i)
			stored := get(t, client, run.tables.PhoneNumbers, id)
			_, hasCampaign := stored["campaign_id"]
			logged := slices.Contains(entries, id)
			switch outcome[i] {
			case "attached":
				attached++
				if !hasCampaign || !logged {
					t.Errorf("number %s: transaction succeeded, but campaign stored %v, logged %v", id, hasCampaign, logged)
				}
			case "cancelled":
				cancelled++
				if hasCampaign || logged {
					t.Errorf("number %s: transaction cancelled, but campaign stored %v, logged %v", id, hasCampaign, logged)
				}
			}
			if startedAfter[i] && outcome[i] != "cancelled" {
				t.Errorf("number %s: a transaction sent after the flip returned was %s, want cancelled", id, outcome[i])
			}
		}
		if attached < flipAfter || cancelled == 0 {
			t.Errorf("%d attached, %d cancelled: the flip did not happen among the transactions", attached, cancelled)
		}
		t.Logf("%d attached before the flip, %d cancelled", attached, cancelled)
	})
}

func numberID(i int) string {
	return fmt.Sprintf("b0000000-0000-4000-8000-%012d", i)
}

func reasonCodes(canceled *types.TransactionCanceledException) []string {
	var codes []string
	for _, r := range canceled.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	return codes
}
