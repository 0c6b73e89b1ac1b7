package main

// The full-path benchmarks: a PATCH as the deployed function runs it, from the event JSON the
// Lambda runtime hands over to the response JSON it sends back, through the production wiring
// (the store's client from the Lambda environment, the handler and its JSON log line) and the
// real SDK client, down to an in-memory http.RoundTripper that answers with canned DynamoDB
// responses. Only the network and DynamoDB are left out. The reference runs the minimal
// bootstrap's handler (plain.Handler) over the same client setup and transport. make bench runs
// these from a test binary (runFullPath) and profiles BenchmarkFullPath with -profile.

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/local/cmd/bench/plain"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/local/rie"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

const (
	cannedSecret = "am_live_FullPathBenchSecret0123456789abcde"
	cannedOrgID  = "11111111-1111-4111-8111-111111111111"
	cannedNumber = "497f6eca-6276-4993-bfeb-53cbbbba6f08"
	cannedLabel  = "support-line-2"
)

// The canned DynamoDB answers, in the wire format dynalite and DynamoDB send: the key of
// cannedSecret with the write scope, and the number after its label became cannedLabel.
var (
	cannedKey = `{"Item":{"key_hash":{"S":"` + plain.HashSecret(cannedSecret) + `"},"id":{"S":"e367c0f0-a08c-4609-8c71-37d74b32a4dd"},` +
		`"org_id":{"S":"` + cannedOrgID + `"},"label":{"S":"demo read-write"},"prefix":{"S":"am_live_Full"},` +
		`"scopes":{"SS":["numbers:read","numbers:write"]},"created_at":{"S":"2026-04-26T12:00:00Z"}}}`
	cannedUpdated = `{"Attributes":{"id":{"S":"` + cannedNumber + `"},"org_id":{"S":"` + cannedOrgID + `"},` +
		`"number":{"S":"+14155550123"},"number_type":{"S":"local"},"inbound_url":{"S":"https://customer.example/v1/inbound"},` +
		`"label":{"S":"` + cannedLabel + `"},"carrier_line_option_status":{"S":"pending"},"sms_enabled":{"BOOL":true},` +
		`"mms_enabled":{"BOOL":true},"created_at":{"S":"2026-04-26T12:00:00Z"},"updated_at":{"S":"2026-11-27T10:00:00Z"},` +
		`"version":{"N":"8"},"write_id":{"S":"CANNEDWRITEID0000000000000"}}}`
	cannedNoItem = `{}`
)

// cannedDynamoDB answers DynamoDB's JSON protocol from memory: GetItem with getItem, UpdateItem
// with updateItem, each with the CRC32 header DynamoDB sends (the SDK checks it). It reads the
// whole request body, as a network transport writes it.
type cannedDynamoDB struct {
	getItem, updateItem string
}

func (c *cannedDynamoDB) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	var body string
	switch target := req.Header.Get("X-Amz-Target"); target {
	case "DynamoDB_20120810.GetItem":
		body = c.getItem
	case "DynamoDB_20120810.UpdateItem":
		body = c.updateItem
	default:
		return nil, fmt.Errorf("canned DynamoDB: no answer for %q", target)
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			"Content-Type":     {"application/x-amz-json-1.0"},
			"X-Amzn-Requestid": {"CANNEDREQUESTID0000000000000000000000000000000000000"},
			"X-Amz-Crc32":      {strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10)},
		},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// withTransport replaces the client's HTTP client with one over rt, with the store's attempt
// timeout (an http.Client timeout costs a timer per request, in production too).
func withTransport(rt http.RoundTripper) func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rt, Timeout: time.Second} }
}

// setFunctionEnv gives the process the environment the deployed function has.
func setFunctionEnv(tb testing.TB) {
	for name, value := range rie.FunctionEnv("http://127.0.0.1:1", localconfig.Tables) {
		tb.Setenv(name, value)
	}
}

// oursOver wires the function as functions/update-phone-number/main.go does, logging to
// io.Discard instead of stdout, with the client's transport replaced by rt.
func oursOver(tb testing.TB, rt http.RoundTripper) lambda.Handler {
	tb.Helper()
	setFunctionEnv(tb)
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: wiring.ParseLogLevel(os.Getenv("LOG_LEVEL"))}))
	tables, err := dynamostore.TablesFromEnv(os.Getenv)
	if err != nil {
		tb.Fatalf("tables: %v", err)
	}
	client, err := dynamostore.NewClient(withTransport(rt))
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	// As main passes it to lambda.Start, which wraps it the way lambda.NewHandler does.
	var handler lambda.Handler = wiring.NewHandler(client, tables, logger)
	return lambda.NewHandler(handler)
}

// referenceOver wires the minimal bootstrap's handler with the client's transport replaced by rt.
func referenceOver(tb testing.TB, rt http.RoundTripper) lambda.Handler {
	tb.Helper()
	setFunctionEnv(tb)
	return lambda.NewHandler(plain.NewHandlerFromEnv(withTransport(rt)).Handle)
}

// invokeFunction runs one event through h as the Lambda runtime does, with a fresh deadline per
// invoke, and checks the response's status code.
func invokeFunction(h lambda.Handler, event []byte, wantStatus []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	resp, err := h.Invoke(ctx, event)
	if err != nil {
		return err
	}
	if !bytes.Contains(resp, wantStatus) {
		return fmt.Errorf("response %s, want %s", resp, wantStatus)
	}
	return nil
}

// fullPathCase is what a full-path benchmark sends and the transport answers.
type fullPathCase struct {
	transport  *cannedDynamoDB
	wantStatus []byte
}

var (
	casePatch      = fullPathCase{&cannedDynamoDB{getItem: cannedKey, updateItem: cannedUpdated}, []byte(`"statusCode":200`)}
	caseUnknownKey = fullPathCase{&cannedDynamoDB{getItem: cannedNoItem}, []byte(`"statusCode":401`)}
)

func benchmarkFunction(b *testing.B, wire func(testing.TB, http.RoundTripper) lambda.Handler, c fullPathCase) {
	h := wire(b, c.transport)
	event, err := patchEvent(cannedSecret, cannedNumber, cannedLabel)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	cpu := selfCPU()
	for b.Loop() {
		if err := invokeFunction(h, event, c.wantStatus); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time rather than elapsed time: on a machine shared with other work, the elapsed time
	// also counts the waits for a core. It covers every thread of the process, so the garbage
	// collector's background work is in it.
	b.ReportMetric(float64(selfCPU()-cpu)/float64(b.N), "cpu-ns/op")
}

// selfCPU returns the user and system CPU time the process has used, in nanoseconds.
func selfCPU() int64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		panic(err)
	}
	return u.Utime.Nano() + u.Stime.Nano()
}

func BenchmarkFullPath(b *testing.B) { benchmarkFunction(b, oursOver, casePatch) }

func BenchmarkFullPathReference(b *testing.B) { benchmarkFunction(b, referenceOver, casePatch) }

func BenchmarkFullPathUnknownKey(b *testing.B) { benchmarkFunction(b, oursOver, caseUnknownKey) }

func BenchmarkFullPathReferenceUnknownKey(b *testing.B) {
	benchmarkFunction(b, referenceOver, caseUnknownKey)
}

// TestFullPathAnswersAsProductionWould checks the benchmarks' set-up: both handlers answer the
// canned conversation as they answer dynalite, and make exactly the calls the bench assumes.
func TestFullPathAnswersAsProductionWould(t *testing.T) {
	for _, tt := range []struct {
		name      string
		wire      func(testing.TB, http.RoundTripper) lambda.Handler
		c         fullPathCase
		wantCalls []string
	}{
		{"ours, 200", oursOver, casePatch, []string{"GetItem", "UpdateItem"}},
		{"reference, 200", referenceOver, casePatch, []string{"GetItem", "UpdateItem"}},
		{"ours, unknown key", oursOver, caseUnknownKey, []string{"GetItem"}},
		{"reference, unknown key", referenceOver, caseUnknownKey, []string{"GetItem"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingTransport{next: tt.c.transport}
			h := tt.wire(t, rec)
			event, err := patchEvent(cannedSecret, cannedNumber, cannedLabel)
			if err != nil {
				t.Fatal(err)
			}
			if err := invokeFunction(h, event, tt.c.wantStatus); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rec.calls, ","); got != strings.Join(tt.wantCalls, ",") {
				t.Errorf("calls %s, want %s", got, strings.Join(tt.wantCalls, ","))
			}
		})
	}
}

// recordingTransport records the DynamoDB operation of each request it passes on.
type recordingTransport struct {
	next  http.RoundTripper
	calls []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.calls = append(r.calls, strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "DynamoDB_20120810."))
	return r.next.RoundTrip(req)
}
