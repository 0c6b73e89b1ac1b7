package dynaliteshim_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// BenchmarkAttach measures, on each engine, what contract §4's atomic attach costs against the
// conditional UpdateItem alone: sequential requests from one client, each changing the stored
// campaign, reported as p50 and p99 latency. Run it with a fixed count, e.g.
//
//	go test ./local/dynaliteshim -run '^$' -bench . -benchtime 500x
func BenchmarkAttach(b *testing.B) {
	const warmUp = 50
	campaigns := []string{campaignActive, campaignOther}
	writes := []struct {
		name string
		run  func(client *dynamodb.Client, tables dynamostore.Tables, campaignID string) error
	}{
		{"UpdateItem", func(client *dynamodb.Client, tables dynamostore.Tables, campaignID string) error {
			u := attach(tables, numberA, orgA, campaignID, false).Update
			_, err := client.UpdateItem(b.Context(), &dynamodb.UpdateItemInput{
				TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
				ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
				ReturnValues: types.ReturnValueAllNew,
			})
			return err
		}},
		{"UpdateItem_ALL_OLD", func(client *dynamodb.Client, tables dynamostore.Tables, campaignID string) error {
			u := attach(tables, numberA, orgA, campaignID, false).Update
			_, err := client.UpdateItem(b.Context(), &dynamodb.UpdateItemInput{
				TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression, ConditionExpression: u.ConditionExpression,
				ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
				ReturnValues: types.ReturnValueAllNew, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			})
			return err
		}},
		{"TransactWriteItems", func(client *dynamodb.Client, tables dynamostore.Tables, campaignID string) error {
			_, err := client.TransactWriteItems(b.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				checkActive(tables, campaignID, orgA, false),
				attach(tables, numberA, orgA, campaignID, false),
			}})
			return err
		}},
	}
	for _, e := range enginetest.Engines() {
		client, _ := newClient(e)
		tables := benchTables(b, e, client)
		for _, w := range writes {
			b.Run(e.Name+"/"+w.name, func(b *testing.B) {
				// Warm both ends up (connections, node's and Python's first runs of each path)
				// before anything is counted.
				for i := range warmUp {
					if err := w.run(client, tables, campaigns[i%2]); err != nil {
						b.Fatalf("%s on %s: %v", w.name, e.Name, err)
					}
				}
				var took []time.Duration
				i := 0
				for b.Loop() {
					start := time.Now()
					if err := w.run(client, tables, campaigns[i%2]); err != nil {
						b.Fatalf("%s on %s: %v", w.name, e.Name, err)
					}
					took = append(took, time.Since(start))
					i++
				}
				slices.Sort(took)
				b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// benchTables creates the store's tables in e, with the two active campaigns and the number the
// benchmark attaches them to.
func benchTables(b *testing.B, e *engine.Engine, client *dynamodb.Client) dynamostore.Tables {
	b.Helper()
	tables := newTables(b, e, client)
	put(b, client, tables.Campaigns, campaign(campaignActive, orgA, "ACTIVE"))
	put(b, client, tables.Campaigns, campaign(campaignOther, orgA, "ACTIVE"))
	put(b, client, tables.PhoneNumbers, number(numberA, orgA))
	return tables
}
