// Command attempts measures the storage client's per-attempt timeout and retry policy under
// concurrent load (issue 11, finding 8): it starts a local engine, seeds one number per client,
// serves the real handler over HTTP as make run does, and has N clients PATCH their own number in
// a loop, alternating a label change (one UpdateItem) and a campaign attach (a TransactWriteItems).
// For each policy it prints the latency percentiles, the statuses, and how many storage attempts
// were made and cut by the per-attempt timeout.
//
//	go run ./local/cmd/attempts -engine dynalite -clients 32,64 -policies 3x1s,3x2s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers"
	"github.com/sms-platform/phone-numbers/pkg/phonenumbers/phonenumberstest"
	"github.com/sms-platform/phone-numbers/pkg/wiring"
)

func main() {
	engineName := flag.String("engine", engine.Names[0], "the DynamoDB engine: "+strings.Join(engine.Names, " or "))
	clientsFlag := flag.String("clients", "32,64", "comma-separated numbers of concurrent clients")
	requests := flag.Int("requests", 20, "requests per client")
	policiesFlag := flag.String("policies", "3x1s,3x2s,2x3s", "comma-separated policies: <attempts>x<per-attempt timeout>")
	flag.Parse()
	if err := run(*engineName, *clientsFlag, *policiesFlag, *requests); err != nil {
		fmt.Fprintln(os.Stderr, "attempts:", err)
		os.Exit(1)
	}
}

// policy is a retry policy of the storage client.
type policy struct {
	attempts int
	timeout  time.Duration
}

func (p policy) String() string { return fmt.Sprintf("%d x %s", p.attempts, p.timeout) }

func run(engineName, clientsFlag, policiesFlag string, requests int) error {
	var clients []int
	for _, s := range strings.Split(clientsFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q is not a number of clients", s)
		}
		clients = append(clients, n)
	}
	var policies []policy
	for _, s := range strings.Split(policiesFlag, ",") {
		a, d, ok := strings.Cut(s, "x")
		attempts, err1 := strconv.Atoi(a)
		timeout, err2 := time.ParseDuration(d)
		if !ok || err1 != nil || err2 != nil || attempts < 1 {
			return fmt.Errorf("-policies: %q is not <attempts>x<timeout>", s)
		}
		policies = append(policies, policy{attempts, timeout})
	}

	ctx := context.Background()
	e, err := engine.Start(ctx, engineName, 0)
	if err != nil {
		return err
	}
	defer e.Stop()
	// Set-up is not measured: it gets the local tools' patient client.
	setup, err := engine.NewPatientClient(e.Endpoint)
	if err != nil {
		return err
	}

	fmt.Printf("engine %s, %d requests per client, each client its own number, label changes and campaign attaches alternating\n\n", engineName, requests)
	fmt.Println("| clients | policy | requests | p50 | p99 | max | 200 | 503 | other | attempts | attempts timed out |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, n := range clients {
		for _, p := range policies {
			w, err := newWorld(ctx, setup, e.Endpoint, n)
			if err != nil {
				return err
			}
			r, err := w.load(ctx, p, requests)
			if err != nil {
				return err
			}
			fmt.Printf("| %d | %s | %d | %s | %s | %s | %d | %d | %d | %d | %d |\n", n, p, r.requests,
				ms(r.p(0.50)), ms(r.p(0.99)), ms(r.p(1)), r.status[200], r.status[503], r.requests-r.status[200]-r.status[503],
				r.attempts, r.timedOut)
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

// world is one run's tables: a key, two campaigns, one number per client.
type world struct {
	endpoint  string
	tables    dynamostore.Tables
	secret    string
	campaigns [2]string
	numbers   []string
}

func newWorld(ctx context.Context, db *dynamodb.Client, endpoint string, clients int) (*world, error) {
	base := "attempts-" + phonenumberstest.NewUUID()[:8]
	w := &world{endpoint: endpoint, tables: dynamostore.Tables{
		APIKeys: base + "-api-keys", Campaigns: base + "-campaigns", PhoneNumbers: base + "-phone-numbers",
	}}
	if err := engine.CreateTables(ctx, db, w.tables); err != nil {
		return nil, err
	}
	const org = "11111111-1111-4111-8111-111111111111"
	w.secret = phonenumbers.SecretPrefix + strings.ReplaceAll(phonenumberstest.NewUUID(), "-", "")
	now := time.Now().UTC()
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(w.tables.APIKeys), Item: dynamostore.NewAPIKeyItem(phonenumbers.APIKey{
		ID: phonenumberstest.NewUUID(), OrgID: org, Scopes: []string{phonenumbers.ScopeNumbersWrite}, Label: "load", CreatedAt: now,
	}, phonenumbers.NewSecret(w.secret))}); err != nil {
		return nil, err
	}
	for i := range w.campaigns {
		w.campaigns[i] = phonenumberstest.NewUUID()
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(w.tables.Campaigns), Item: dynamostore.NewCampaignItem(phonenumbers.Campaign{
			ID: w.campaigns[i], OrgID: org, Status: phonenumbers.CampaignActive,
		})}); err != nil {
			return nil, err
		}
	}
	for range clients {
		n := phonenumbers.PhoneNumber{ID: phonenumberstest.NewUUID(), OrgID: org, Number: "+14155550123", NumberType: phonenumbers.NumberTypeLocal,
			SMSEnabled: true, CreatedAt: now, UpdatedAt: now}
		if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(w.tables.PhoneNumbers), Item: dynamostore.NewPhoneNumberItem(n)}); err != nil {
			return nil, err
		}
		w.numbers = append(w.numbers, n.ID)
	}
	return w, nil
}

// result is what one load run measured.
type result struct {
	requests  int
	latencies []time.Duration
	status    map[int]int
	attempts  int64
	timedOut  int64
}

func (r result) p(q float64) time.Duration {
	i := int(q * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// load has one client per number PATCH it requests times, all at once, through a handler whose
// storage client has policy p, and measures it.
func (w *world) load(ctx context.Context, p policy, requests int) (result, error) {
	client, err := engine.NewClient(ctx, w.endpoint)
	if err != nil {
		return result{}, err
	}
	counting := &countingClient{inner: awshttp.NewBuildableClient().WithTimeout(p.timeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = 500 * time.Millisecond })}
	client = dynamodb.New(client.Options(), func(o *dynamodb.Options) {
		o.HTTPClient = counting
		o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = p.attempts
			o.MaxBackoff = 100 * time.Millisecond
		})
	})
	handler := wiring.NewHandler(client, w.tables, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	srv := httptest.NewServer(localapi.New(handler, localconfig.FunctionTimeout))
	defer srv.Close()
	httpClient := &http.Client{Timeout: 2 * localconfig.FunctionTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: len(w.numbers)}}

	var mu sync.Mutex
	r := result{status: map[int]int{}}
	var wg sync.WaitGroup
	var firstErr error
	for i, id := range w.numbers {
		wg.Go(func() {
			for j := range requests {
				body := `{"label":"label ` + strconv.Itoa(j) + `"}`
				if j%2 == 1 {
					body = `{"campaign_id":"` + w.campaigns[(j/2+i)%2] + `"}`
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, srv.URL+"/v1/phone-numbers/"+id, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+w.secret)
				req.Header.Set("Content-Type", "application/json")
				start := time.Now()
				resp, err := httpClient.Do(req)
				elapsed := time.Since(start)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.requests++
				r.latencies = append(r.latencies, elapsed)
				r.status[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	slices.Sort(r.latencies)
	r.attempts, r.timedOut = counting.attempts.Load(), counting.timedOut.Load()
	return r, nil
}

// countingClient counts the storage attempts sent, and those the per-attempt timeout cut (not
// those the request's own deadline ended).
type countingClient struct {
	inner    *awshttp.BuildableClient
	attempts atomic.Int64
	timedOut atomic.Int64
}

func (c *countingClient) Do(req *http.Request) (*http.Response, error) {
	c.attempts.Add(1)
	resp, err := c.inner.Do(req)
	var netErr net.Error
	if err != nil && req.Context().Err() == nil && errors.As(err, &netErr) && netErr.Timeout() {
		c.timedOut.Add(1)
	}
	return resp, err
}
