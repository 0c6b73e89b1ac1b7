package dynamostore

import (
	"context"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// lambdaEnv is the part of a Lambda function's environment the client reads, as the Lambda
// service sets it.
func lambdaEnv() map[string]string {
	return map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_DEFAULT_REGION":    "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIAEXAMPLEEXAMPLE01",
		"AWS_SECRET_ACCESS_KEY": "secret/example/example/example/example/ex",
		"AWS_SESSION_TOKEN":     "session-token-example",
	}
}

func getenvFrom(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

// clientFromEnv builds a client from lambdaEnv with overrides applied, and checks that building it
// fails exactly when wantErr. It returns nil when building failed.
func clientFromEnv(t *testing.T, overrides map[string]string, wantErr bool) *dynamodb.Client {
	t.Helper()
	env := lambdaEnv()
	for k, v := range overrides {
		env[k] = v
	}
	client, err := newClient(getenvFrom(env))
	switch {
	case wantErr && err == nil:
		t.Fatal("got no error, want one")
	case !wantErr && err != nil:
		t.Fatalf("newClient: %v", err)
	}
	return client
}

func TestNewClientReadsTheLambdaEnvironment(t *testing.T) {
	t.Parallel()
	client, err := newClient(getenvFrom(lambdaEnv()))
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	opts := client.Options()
	if opts.Region != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1", opts.Region)
	}
	if opts.BaseEndpoint != nil {
		t.Errorf("base endpoint = %q, want none: DynamoDB's own endpoint for the region", *opts.BaseEndpoint)
	}
	creds, err := opts.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("retrieve credentials: %v", err)
	}
	want := aws.Credentials{
		AccessKeyID: "ASIAEXAMPLEEXAMPLE01", SecretAccessKey: "secret/example/example/example/example/ex",
		SessionToken: "session-token-example", Source: "EnvConfigCredentials",
	}
	if creds != want {
		t.Errorf("credentials = %+v, want %+v", creds, want)
	}
	checkPolicy(t, client)
}

// checkPolicy checks the store's retry and timeout policy on client.
func checkPolicy(t *testing.T, client *dynamodb.Client) {
	t.Helper()
	opts := client.Options()
	if got := opts.Retryer.MaxAttempts(); got != maxAttempts {
		t.Errorf("max attempts = %d, want %d", got, maxAttempts)
	}
	withTimeout, ok := opts.HTTPClient.(interface{ GetTimeout() time.Duration })
	if !ok {
		t.Fatalf("HTTP client %T has no timeout", opts.HTTPClient)
	}
	if got := withTimeout.GetTimeout(); got != attemptTimeout {
		t.Errorf("per-attempt timeout = %s, want %s", got, attemptTimeout)
	}
	buildable, ok := opts.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		t.Fatalf("HTTP client is %T, want *awshttp.BuildableClient", opts.HTTPClient)
	}
	if got := buildable.GetDialer().Timeout; got != dialTimeout {
		t.Errorf("dial timeout = %s, want %s", got, dialTimeout)
	}
}

func TestNewClientEndpointVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		env           map[string]string
		wantFIPS      aws.FIPSEndpointState
		wantDualStack aws.DualStackEndpointState
		wantErr       bool
	}{
		{name: "neither"},
		{name: "FIPS", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "true"}, wantFIPS: aws.FIPSEndpointStateEnabled},
		{name: "dual-stack", env: map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "TRUE"}, wantDualStack: aws.DualStackEndpointStateEnabled},
		{name: "both off explicitly", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "false", "AWS_USE_DUALSTACK_ENDPOINT": "false"}},
		{name: "FIPS flag not a boolean", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "1"}, wantErr: true},
		{name: "dual-stack flag not a boolean", env: map[string]string{"AWS_USE_DUALSTACK_ENDPOINT": "yes"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := clientFromEnv(t, tt.env, tt.wantErr)
			if client == nil {
				return
			}
			if got := client.Options().EndpointOptions.UseFIPSEndpoint; got != tt.wantFIPS {
				t.Errorf("FIPS = %v, want %v", got, tt.wantFIPS)
			}
			if got := client.Options().EndpointOptions.UseDualStackEndpoint; got != tt.wantDualStack {
				t.Errorf("dual-stack = %v, want %v", got, tt.wantDualStack)
			}
		})
	}
}

func TestNewClientEndpointOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    string // "" for none
		wantErr bool
	}{
		{name: "none", env: nil},
		{name: "service variable", env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, want: "http://127.0.0.1:8000"},
		{name: "global variable", env: map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9000"}, want: "http://127.0.0.1:9000"},
		{name: "service variable wins over global", env: map[string]string{
			"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
		}, want: "http://127.0.0.1:8000"},
		{name: "empty service variable falls back to global", env: map[string]string{
			"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_DYNAMODB": "",
		}, want: "http://127.0.0.1:9000"},
		{name: "ignored", env: map[string]string{
			"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
			"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE",
		}},
		{name: "not ignored", env: map[string]string{
			"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
		}, want: "http://127.0.0.1:8000"},
		{name: "ignore flag not a boolean", env: map[string]string{"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "yes"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := clientFromEnv(t, tt.env, tt.wantErr)
			if client == nil {
				return
			}
			if got := aws.ToString(client.Options().BaseEndpoint); got != tt.want {
				t.Errorf("base endpoint = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewClientNeedsRegionAndCredentials(t *testing.T) {
	t.Parallel()
	for _, missing := range [][]string{
		{"AWS_REGION", "AWS_DEFAULT_REGION"},
		{"AWS_ACCESS_KEY_ID"},
		{"AWS_SECRET_ACCESS_KEY"},
	} {
		t.Run("without "+strings.Join(missing, " and "), func(t *testing.T) {
			t.Parallel()
			env := lambdaEnv()
			for _, name := range missing {
				delete(env, name)
			}
			if _, err := newClient(getenvFrom(env)); err == nil || !strings.Contains(err.Error(), missing[0]) {
				t.Errorf("got error %v, want one naming %s", err, missing[0])
			}
		})
	}
	t.Run("options may supply them", func(t *testing.T) {
		t.Parallel()
		client, err := newClient(getenvFrom(nil), func(o *dynamodb.Options) {
			o.Region = "us-east-1"
			o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
			o.BaseEndpoint = aws.String("http://127.0.0.1:8000")
		})
		if err != nil {
			t.Fatalf("newClient: %v", err)
		}
		if got := aws.ToString(client.Options().BaseEndpoint); got != "http://127.0.0.1:8000" {
			t.Errorf("base endpoint = %q, want the option's", got)
		}
		checkPolicy(t, client)
	})
}

// TestNewClientSendsWhatLoadDefaultConfigWould builds the client NewClient replaced, through
// config.LoadDefaultConfig with the same policy, in the same Lambda environment, and checks that
// both send the same requests, attempts included: same endpoint, operation, body, credentials,
// session token, signing scope and retry header. Only the User-Agent may differ.
func TestNewClientSendsWhatLoadDefaultConfigWould(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, describeRequest(r, body))
		mu.Unlock()
		// A retryable error, so that every attempt shows.
		const answer = `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"try again"}`
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(answer))), 10))
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, answer)
	}))
	defer server.Close()

	for name, value := range lambdaEnv() {
		t.Setenv(name, value)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", server.URL)
	// Nothing on this machine may reach the reference client.
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, name := range []string{"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"} {
		t.Setenv(name, "")
	}

	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(attemptTimeout)),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
			})
		}))
	if err != nil {
		t.Fatalf("load default config: %v", err)
	}
	reference := dynamodb.NewFromConfig(cfg)
	lean, err := NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	send := func(client *dynamodb.Client) []string {
		mu.Lock()
		seen = nil
		mu.Unlock()
		_, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String("api-keys"),
			Key:            map[string]types.AttributeValue{APIKeysHashKey: &types.AttributeValueMemberS{Value: "abc"}},
			ConsistentRead: aws.Bool(true),
		})
		if err == nil {
			t.Fatal("GetItem succeeded against a server that always fails")
		}
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
	want := send(reference)
	got := send(lean)
	t.Logf("reference requests:\n\t%s", strings.Join(want, "\n\t"))
	if len(want) != maxAttempts {
		t.Fatalf("the reference client made %d attempts, want %d", len(want), maxAttempts)
	}
	if !slices.Equal(got, want) {
		t.Errorf("NewClient's requests differ from LoadDefaultConfig's:\ngot\n\t%s\nwant\n\t%s",
			strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}

	// Without the override both resolve DynamoDB's own endpoint for the region. The requests
	// stop at a stub transport, which records where they were going.
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
		t.Fatalf("load default config: %v", err)
	}
	var urls []string
	stub := func(o *dynamodb.Options) {
		o.HTTPClient = doFunc(func(r *http.Request) (*http.Response, error) {
			urls = append(urls, r.URL.String())
			return nil, errors.New("stub transport: not sent")
		})
		o.RetryMaxAttempts = 1
	}
	if lean, err = NewClient(stub); err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	for _, client := range []*dynamodb.Client{dynamodb.NewFromConfig(cfg, stub), lean} {
		_, _ = client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String("api-keys"),
			Key:       map[string]types.AttributeValue{APIKeysHashKey: &types.AttributeValueMemberS{Value: "abc"}},
		})
	}
	if want := []string{"https://dynamodb.eu-west-1.amazonaws.com/", "https://dynamodb.eu-west-1.amazonaws.com/"}; !slices.Equal(urls, want) {
		t.Errorf("requests went to %v (LoadDefaultConfig's, then NewClient's), want %v", urls, want)
	}
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

var signature = regexp.MustCompile(`Signature=[0-9a-f]+`)

// describeRequest renders what identifies a request, leaving out what changes with the time
// (the signature and X-Amz-Date) and the User-Agent.
func describeRequest(r *http.Request, body []byte) string {
	return strings.Join([]string{
		r.Method, r.Host, r.URL.Path,
		"target=" + r.Header.Get("X-Amz-Target"),
		"content-type=" + r.Header.Get("Content-Type"),
		"sdk-request=" + r.Header.Get("Amz-Sdk-Request"),
		"token=" + r.Header.Get("X-Amz-Security-Token"),
		"authorization=" + signature.ReplaceAllString(r.Header.Get("Authorization"), "Signature=…"),
		"body=" + string(body),
	}, " ")
}
