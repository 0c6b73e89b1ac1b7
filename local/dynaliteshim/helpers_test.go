package dynaliteshim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

func TestMain(m *testing.M) {
	enginetest.Main(m)
}

// The organizations of the test data.
const (
	orgA = "11111111-1111-4111-8111-111111111111"
	orgB = "22222222-2222-4222-8222-222222222222"
)

// The ids of the test data.
const (
	campaignActive  = "c0000000-0000-4000-8000-000000000001"
	campaignExpired = "c0000000-0000-4000-8000-000000000002"
	campaignOther   = "c0000000-0000-4000-8000-000000000003"
	campaignMissing = "c0000000-0000-4000-8000-000000000009"
	numberA         = "a0000000-0000-4000-8000-000000000001"
	numberB         = "a0000000-0000-4000-8000-000000000002"
	numberMissing   = "a0000000-0000-4000-8000-000000000009"
)

// item is an item as DynamoDB returns it.
type item = map[string]types.AttributeValue

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(id string) item { return item{"id": str(id)} }

func campaign(id, org, status string) item {
	return item{"id": str(id), "org_id": str(org), "status": str(status)}
}

func number(id, org string) item {
	return item{"id": str(id), "org_id": str(org), "number": str("+14155550123"), "label": str("support")}
}

// with returns a copy of it with name set to the string value.
func with(it item, name, value string) item {
	out := make(item, len(it)+1)
	for k, v := range it {
		out[k] = v
	}
	out[name] = str(value)
	return out
}

// checkActive is the ConditionCheck of contract §4: the campaign belongs to org and is ACTIVE.
func checkActive(tables dynamostore.Tables, campaignID, org string, allOld bool) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                           aws.String(tables.Campaigns),
		Key:                                 key(campaignID),
		ConditionExpression:                 aws.String("#org = :org AND #status = :active"),
		ExpressionAttributeNames:            map[string]string{"#org": "org_id", "#status": "status"},
		ExpressionAttributeValues:           item{":org": str(org), ":active": str("ACTIVE")},
		ReturnValuesOnConditionCheckFailure: returnOld(allOld),
	}}
}

// attach is the conditional update of contract §4: the number exists, belongs to org, and gets
// the campaign.
func attach(tables dynamostore.Tables, numberID, org, campaignID string, allOld bool) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(tables.PhoneNumbers),
		Key:                                 key(numberID),
		UpdateExpression:                    aws.String("SET #campaign = :campaign"),
		ConditionExpression:                 aws.String("attribute_exists(#id) AND #org = :org"),
		ExpressionAttributeNames:            map[string]string{"#campaign": "campaign_id", "#id": "id", "#org": "org_id"},
		ExpressionAttributeValues:           item{":campaign": str(campaignID), ":org": str(org)},
		ReturnValuesOnConditionCheckFailure: returnOld(allOld),
	}}
}

func returnOld(allOld bool) types.ReturnValuesOnConditionCheckFailure {
	if allOld {
		return types.ReturnValuesOnConditionCheckFailureAllOld
	}
	return ""
}

// recorder is an HTTP client that keeps the last answer's status and body, so that tests can
// compare what two engines sent, not only what the SDK made of it.
type recorder struct {
	client http.Client
	mu     sync.Mutex
	status int
	body   []byte
}

// Do sends req and records the answer.
func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.status, r.body = resp.StatusCode, body
	r.mu.Unlock()
	return resp, nil
}

// last returns the status and the decoded JSON body of the last answer.
func (r *recorder) last(t testing.TB) (int, any) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var body any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("answer is not JSON: %v: %q", err, r.body)
	}
	return r.status, body
}

// newClient returns a client for e that sends each request once, with a timeout generous enough
// for a loaded machine: these tests compare engines, and a retry would hide what an engine did.
func newClient(e *engine.Engine) (*dynamodb.Client, *recorder) {
	rec := &recorder{client: http.Client{Timeout: 60 * time.Second}}
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(e.Endpoint),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   rec,
	})
	return client, rec
}

// put stores it in table.
func put(t testing.TB, client *dynamodb.Client, table string, it item) {
	t.Helper()
	if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
		t.Fatalf("put item into %s: %v", table, err)
	}
}

// get returns the item id of table, read with strong consistency; nil when there is none.
func get(t testing.TB, client *dynamodb.Client, table, id string) item {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get item %s from %s: %v", id, table, err)
	}
	if len(out.Item) == 0 {
		return nil
	}
	return out.Item
}

// plain renders an item as plain Go values, for comparisons and readable failure messages.
func plain(t testing.TB, it item) map[string]any {
	t.Helper()
	if it == nil {
		return nil
	}
	var out map[string]any
	if err := attributevalue.UnmarshalMap(it, &out); err != nil {
		t.Fatalf("unmarshal item: %v", err)
	}
	return out
}

// sameItem reports whether two items hold the same attributes and values.
func sameItem(t testing.TB, a, b item) bool {
	t.Helper()
	return reflect.DeepEqual(plain(t, a), plain(t, b))
}

// observed is what one engine answered to a request.
type observed struct {
	engine string
	status int
	body   any
}

// engineRun is one engine's run of a test: its own tables, a client, and the answer kept for
// comparison with the other engines'.
type engineRun struct {
	engine *engine.Engine
	tables dynamostore.Tables
	client *dynamodb.Client
	rec    *recorder
	answer *observed
}

func newRun(t *testing.T, e *engine.Engine) *engineRun {
	t.Helper()
	client, rec := newClient(e)
	return &engineRun{engine: e, tables: newTables(t, e, client), client: client, rec: rec}
}

// keepAnswer keeps the last answer the engine sent, to be compared with the other engines'.
func (r *engineRun) keepAnswer(t *testing.T) {
	t.Helper()
	status, body := r.rec.last(t)
	r.answer = &observed{engine: r.engine.Name, status: status, body: body}
}

// forEachEngine runs fn once per engine, as parallel subtests named after the engines.
func forEachEngine(t *testing.T, fn func(t *testing.T, run *engineRun)) {
	t.Helper()
	for _, e := range enginetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newRun(t, e))
		})
	}
}

// acrossEngines runs fn once per engine, in turn, as a subtest named after the engine, and then
// fails t unless every engine's kept answer is the first one's: same status, and the same JSON
// body member for member.
func acrossEngines(t *testing.T, fn func(t *testing.T, run *engineRun)) {
	t.Helper()
	var answers []observed
	for _, e := range enginetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			run := newRun(t, e)
			fn(t, run)
			if run.answer != nil {
				answers = append(answers, *run.answer)
			}
		})
	}
	switch {
	case len(answers) == 1:
		t.Logf("only %s answered: nothing to compare its answer with", answers[0].engine)
	case len(answers) > 1:
		first := answers[0]
		for _, a := range answers[1:] {
			if a.status != first.status || !reflect.DeepEqual(a.body, first.body) {
				t.Errorf("answers differ:\n%s: %d %s\n%s: %d %s", first.engine, first.status, mustJSON(first.body), a.engine, a.status, mustJSON(a.body))
			}
		}
	}
}

// newTables creates the store's tables under fresh names in e and deletes them when tb ends. It
// uses client (one attempt, a generous timeout) rather than the store's policy, whose one-second
// attempts a loaded machine can outlast while an engine creates tables.
func newTables(tb testing.TB, e *engine.Engine, client *dynamodb.Client) dynamostore.Tables {
	tb.Helper()
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	base := "shim-" + hex.EncodeToString(suffix[:])
	tables := dynamostore.Tables{APIKeys: base + "-api-keys", Campaigns: base + "-campaigns", PhoneNumbers: base + "-phone-numbers"}
	if err := engine.CreateTables(tb.Context(), client, tables); err != nil {
		tb.Fatalf("create tables on %s: %v", e.Name, err)
	}
	tb.Cleanup(func() {
		// tb.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range []string{tables.APIKeys, tables.Campaigns, tables.PhoneNumbers} {
			_, _ = client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return tables
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
