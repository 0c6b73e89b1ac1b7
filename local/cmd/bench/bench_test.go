package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/local/cmd/bench/plain"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
)

func TestBenchOutputGivesEachRunsFigures(t *testing.T) {
	t.Parallel()
	out := `goos: linux
BenchmarkFullPath-2                      	   10000	    230000 ns/op	    200000 cpu-ns/op	   41000 B/op	     928 allocs/op
BenchmarkFullPathReference               	   20000	     90000.5 ns/op	   20000 B/op	     400 allocs/op
BenchmarkFullPath-2                      	   10000	    240000 ns/op	   41001 B/op	     929 allocs/op
PASS
`
	got, err := parseBenchOutput(out)
	if err != nil {
		t.Fatalf("parseBenchOutput: %v", err)
	}
	want := map[string][]benchResult{
		"BenchmarkFullPath":          {{230000, 41000, 928, 200000}, {240000, 41001, 929, 0}},
		"BenchmarkFullPathReference": {{90000.5, 20000, 400, 0}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"PASS\n", "BenchmarkFullPath-2  100  5 ns/op\n", "BenchmarkFullPath-2  100  x ns/op  1 B/op  1 allocs/op\n"} {
		if _, err := parseBenchOutput(bad); err == nil {
			t.Errorf("parseBenchOutput(%q) gave no error", bad)
		}
	}
}

func TestReportWriterReadsTheEmulatorsLines(t *testing.T) {
	t.Parallel()
	w := newReportWriter()
	lines := "START RequestId: a Version: $LATEST\n" +
		`{"time":"2026-11-27T02:06:40Z","level":"INFO","msg":"request","status":200,"duration_ms":8.836}` + "\n" +
		"END RequestId: a\n" +
		"REPORT RequestId: a\tInit Duration: 0.03 ms\tDuration: 17.25 ms\tBilled Duration: 18 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t\n" +
		"REPORT RequestId: b\tDuration: 5.47 ms\tBilled Duration: 6 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t\n"
	// Written in pieces, as a pipe delivers it.
	for i := 0; i < len(lines); i += 7 {
		_, _ = w.Write([]byte(lines[i:min(i+7, len(lines))]))
	}
	for _, want := range []float64{17.25, 5.47} {
		if got, err := w.next(time.Second); err != nil || got != want {
			t.Errorf("REPORT Duration = %v, %v; want %v", got, err, want)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	var l latencies
	for i := 100; i >= 1; i-- {
		l.all = append(l.all, time.Duration(i)*time.Millisecond)
	}
	if got := l.percentile(0.5); got != 50*time.Millisecond {
		t.Errorf("p50 = %s, want 50ms", got)
	}
	if got := l.percentile(0.99); got != 99*time.Millisecond {
		t.Errorf("p99 = %s, want 99ms", got)
	}
}

func TestRatioIsTakenPerRepetition(t *testing.T) {
	t.Parallel()
	r := compared("m", "", unitMs, []float64{2, 3, 4}, []float64{1, 2, 4}, nil)
	// Per repetition: 2, 1.5, 1; not the ratio of the medians (3/2).
	if want := (summary{median: 1.5, min: 1, max: 2, n: 3}); *r.ratio != want {
		t.Errorf("ratio = %+v, want %+v", *r.ratio, want)
	}
	if want := (summary{median: 3, min: 2, max: 4, n: 3}); r.ours != want {
		t.Errorf("ours = %+v, want %+v", r.ours, want)
	}
	if r.met() != nil {
		t.Error("a row without a target has a verdict")
	}
}

func TestTargetIsMetOnlyByTheWholeRange(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		target          *target
		ours, reference []float64
		want            bool
	}{
		{"ratio at most, all within", targetE2EP50, []float64{1.2, 1.3, 1.1}, []float64{1, 1, 1}, true},
		{"ratio at most, median within but max above", targetE2EP50, []float64{1.0, 1.1, 1.4}, []float64{1, 1, 1}, false},
		{"ratio at least, all above", targetThroughput, []float64{0.7, 0.9, 1}, []float64{1, 1, 1}, true},
		{"ratio at least, min below", targetThroughput, []float64{0.69, 0.9, 1}, []float64{1, 1, 1}, false},
		{"absolute at most, max on the bound", targetHandlerAlloc, []float64{598, 600, 599}, []float64{300, 300, 300}, true},
		{"absolute at most, one run above", targetHandlerAlloc, []float64{598, 601, 599}, []float64{300, 300, 300}, false},
		{"absolute below, on the bound", targetBootstrap, []float64{10_000_000}, []float64{5e6}, false},
		{"absolute below, under it", targetBootstrap, []float64{9_999_999}, []float64{5e6}, true},
		{"no measurement", targetE2EP50, nil, nil, false},
	} {
		r := compared("m", "", unitMs, tt.ours, tt.reference, tt.target)
		if got := *r.met(); got != tt.want {
			t.Errorf("%s: met = %v, want %v (ours %+v, ratio %+v)", tt.name, got, tt.want, r.ours, *r.ratio)
		}
	}
}

func TestJSONHasOneObjectPerRowWithTheIssuesFields(t *testing.T) {
	t.Parallel()
	rows := []row{
		compared("e2e-p50-sequential", "p50", unitMs, []float64{2, 2.2, 2.4}, []float64{2, 2, 2}, targetE2EP50),
		compared("e2e-p99-sequential", "p99", unitMs, []float64{5}, []float64{4}, nil),
	}
	var buf strings.Builder
	if err := printJSON(&buf, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"measure": "e2e-p50-sequential", "unit": "ms", "ours": 2.2, "reference": 2.0, "ratio": 1.1,
		"ratio_min": 1.0, "ratio_max": 1.2, "target": "<= 1.3x", "met": true, "repetitions": 3.0,
	}
	for k, v := range want {
		got, ok := first[k]
		if f, isFloat := v.(float64); isFloat && ok {
			if g, _ := got.(float64); math.Abs(g-f) > 1e-9 {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
			continue
		}
		if !ok || got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	var second map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatal(err)
	}
	if second["target"] != nil || second["met"] != nil {
		t.Errorf("a row without a target: target %v, met %v; want null, null", second["target"], second["met"])
	}
}

func TestTableShowsRatioRangeAndVerdict(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	printTable(&buf, []row{
		compared("throughput-8-clients", "req/s", unitReqS, []float64{600, 700, 650}, []float64{1000, 1000, 1000}, targetThroughput),
		compared("handler-path-allocs", "allocs", unitAllocs, []float64{900, 928, 910}, []float64{400, 400, 400}, targetHandlerAlloc),
		compared("bootstrap-size-arm64", "size", unitBytes, []float64{8_126_590}, []float64{5_832_830}, targetBootstrap),
	})
	for _, want := range []string{
		"| `throughput-8-clients` | req/s | 650 req/s | 1,000 req/s | 0.65x (0.60–0.70) | ≥ 0.7x | **no** |",
		"| `handler-path-allocs` | allocs | 910 (900–928) | 400 | 2.27x (2.25–2.32) | ≤ 600 | **no** |",
		"| `bootstrap-size-arm64` | size | 8.13 MB | 5.83 MB | 1.39x | < 10.00 MB | yes |",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestPlainReadsTheFunctionsTableVariables(t *testing.T) {
	t.Parallel()
	if plain.EnvAPIKeysTable != dynamostore.EnvAPIKeysTable || plain.EnvPhoneNumbersTable != dynamostore.EnvPhoneNumbersTable {
		t.Errorf("plain reads %s and %s, the function %s and %s", plain.EnvAPIKeysTable, plain.EnvPhoneNumbersTable,
			dynamostore.EnvAPIKeysTable, dynamostore.EnvPhoneNumbersTable)
	}
	secret, _ := phonenumbers.ParseSecret(cannedSecret)
	if got, want := plain.HashSecret(cannedSecret), phonenumbers.HashSecret(secret); got != want {
		t.Errorf("plain.HashSecret = %s, the store's key is %s", got, want)
	}
}

// recordingDB records the UpdateItem it is sent and fails it, so that the store's and plain's
// requests can be compared without an engine.
type recordingDB struct {
	dynamostore.API
	sent *dynamodb.UpdateItemInput
}

func (r *recordingDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	r.sent = in
	return nil, errors.New("recorded")
}

// TestPlainWritesWhatTheStoreWrites holds the end-to-end floor to the store's write of a label
// patch: the same expressions, names and values (but the write's id, random on both sides), so
// that a change to the store's write, such as a longer condition, cannot leave the floor doing
// less work than the function and the ratio counting the engine's cost as ours.
func TestPlainWritesWhatTheStoreWrites(t *testing.T) {
	const org, id, label = "11111111-1111-4111-8111-111111111111", "497f6eca-6276-4993-bfeb-53cbbbba6f08", "Support line"
	now := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	var store, floor recordingDB
	_, _ = dynamostore.New(&store, dynamostore.Tables{PhoneNumbers: "numbers"}).
		UpdatePhoneNumber(context.Background(), org, id, phonenumbers.Patch{Label: new(label)}, phonenumbers.Precondition{}, now)
	_, _ = plain.UpdateLabel(context.Background(), &floor, "numbers", id, org, label, now)
	if store.sent == nil || floor.sent == nil {
		t.Fatalf("no UpdateItem recorded: store %v, plain %v", store.sent != nil, floor.sent != nil)
	}
	if got, want := aws.ToString(floor.sent.UpdateExpression), aws.ToString(store.sent.UpdateExpression); got != want {
		t.Errorf("plain's UpdateExpression\n  %s\nthe store's\n  %s", got, want)
	}
	if got, want := aws.ToString(floor.sent.ConditionExpression), aws.ToString(store.sent.ConditionExpression); got != want {
		t.Errorf("plain's ConditionExpression\n  %s\nthe store's\n  %s", got, want)
	}
	if !maps.Equal(floor.sent.ExpressionAttributeNames, store.sent.ExpressionAttributeNames) {
		t.Errorf("plain's names %v, the store's %v", floor.sent.ExpressionAttributeNames, store.sent.ExpressionAttributeNames)
	}
	delete(floor.sent.ExpressionAttributeValues, ":write_id")
	delete(store.sent.ExpressionAttributeValues, ":write_id")
	if !reflect.DeepEqual(floor.sent.ExpressionAttributeValues, store.sent.ExpressionAttributeValues) {
		t.Errorf("plain's values %v, the store's %v", floor.sent.ExpressionAttributeValues, store.sent.ExpressionAttributeValues)
	}
	if floor.sent.ReturnValues != store.sent.ReturnValues || floor.sent.ReturnValuesOnConditionCheckFailure != store.sent.ReturnValuesOnConditionCheckFailure {
		t.Errorf("plain returns %s/%s, the store %s/%s", floor.sent.ReturnValues, floor.sent.ReturnValuesOnConditionCheckFailure,
			store.sent.ReturnValues, store.sent.ReturnValuesOnConditionCheckFailure)
	}
}
