package dynamostore

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"
)

// The client's retry and timeout policy, chosen from measurements (go run ./local/cmd/attempts;
// the README's Configuration section has the numbers). DynamoDB answers in milliseconds, so an
// attempt that takes two seconds is stuck, not slow: it is abandoned and retried after a short,
// bounded backoff. One second was too short for the local engines under 32 to 64 concurrent
// clients: attempts the engine was still queueing, or had already applied, timed out and were
// sent again, which lengthened the queue (moto, 64 clients: 94% 503s at 1 s, 3% at 2 s). A
// retried write that was applied recognises its own change by its write id and answers 200.
// Three timed-out attempts would take 6.2 s, more than the 6 s function: the handler's deadline
// margin (apigw.DefaultDeadlineMargin) ends a stalled call 0.5 s before the deadline and answers
// 503 in time; a request still survives two stuck attempts.
const (
	maxAttempts    = 3
	maxBackoff     = 100 * time.Millisecond
	attemptTimeout = 2 * time.Second
	dialTimeout    = 500 * time.Millisecond
)

// The environment variables NewClient reads: those the Lambda service sets for every function
// (region and the execution role's temporary credentials) and the SDK's standard endpoint
// override, with the SDK's own names and precedence.
const (
	envRegion                   = "AWS_REGION"
	envDefaultRegion            = "AWS_DEFAULT_REGION"
	envAccessKeyID              = "AWS_ACCESS_KEY_ID"
	envAccessKey                = "AWS_ACCESS_KEY"
	envSecretAccessKey          = "AWS_SECRET_ACCESS_KEY"
	envSecretKey                = "AWS_SECRET_KEY"
	envSessionToken             = "AWS_SESSION_TOKEN"
	envAccountID                = "AWS_ACCOUNT_ID"
	envEndpointURLDynamoDB      = "AWS_ENDPOINT_URL_DYNAMODB"
	envEndpointURL              = "AWS_ENDPOINT_URL"
	envIgnoreConfiguredEndpoint = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
	envAppID                    = "AWS_SDK_UA_APP_ID"
	envUseFIPSEndpoint          = "AWS_USE_FIPS_ENDPOINT"
	envUseDualStackEndpoint     = "AWS_USE_DUALSTACK_ENDPOINT"
)

// envCredentialsSource is the Source the SDK gives credentials read from the environment.
const envCredentialsSource = "EnvConfigCredentials"

// NewClient returns a DynamoDB client configured from the environment, with the store's retry
// and timeout policy. optFns are applied last, so callers can point it at a local engine.
//
// It reads the environment directly instead of through config.LoadDefaultConfig, which gives the
// same client from the same variables but links the SSO, SSO-OIDC, STS, sign-in and IMDS clients
// into the binary (about 1.6 MB of a 10 MB bootstrap) and looks for shared config files at every
// cold start, none of which a Lambda function uses: the region, the credentials and the endpoint
// override all come from variables. The variables read are the constants above, with the SDK's
// precedence (AWS_ENDPOINT_URL_DYNAMODB over AWS_ENDPOINT_URL, both ignored when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true; AWS_USE_FIPS_ENDPOINT and
// AWS_USE_DUALSTACK_ENDPOINT select those endpoint variants). The retry policy is the store's
// own, so AWS_MAX_ATTEMPTS and AWS_RETRY_MODE do not apply, as they did not with
// LoadDefaultConfig and an explicit retryer. Shared config and credentials files, profiles and
// the other credential providers are not consulted: a missing region or missing credentials is an
// error here, rather than a failure at the first request.
func NewClient(optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	return newClient(os.Getenv, optFns...)
}

func newClient(getenv func(string) string, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, error) {
	opts, err := optionsFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Region == "" {
		return nil, fmt.Errorf("dynamodb client: no region: set %s", envRegion)
	}
	if opts.Credentials == nil {
		return nil, fmt.Errorf("dynamodb client: no credentials: set %s and %s", envAccessKeyID, envSecretAccessKey)
	}
	return dynamodb.New(opts), nil
}

// optionsFromEnv returns the client options config.LoadDefaultConfig and dynamodb.NewFromConfig
// would build from these variables, with the store's retry and timeout policy.
func optionsFromEnv(getenv func(string) string) (dynamodb.Options, error) {
	opts := dynamodb.Options{
		Region: firstSet(getenv, envRegion, envDefaultRegion),
		AppID:  getenv(envAppID),
		// What LoadDefaultConfig sets; the client only writes to it for warnings.
		Logger: logging.NewStandardLogger(os.Stderr),
		HTTPClient: awshttp.NewBuildableClient().
			WithTimeout(attemptTimeout).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = maxBackoff
		}),
	}
	accessKey := firstSet(getenv, envAccessKeyID, envAccessKey)
	secretKey := firstSet(getenv, envSecretAccessKey, envSecretKey)
	if accessKey != "" && secretKey != "" {
		// Static, as the environment's credentials are: Lambda sets them for the life of the
		// execution environment.
		opts.Credentials = credentials.StaticCredentialsProvider{Value: aws.Credentials{
			AccessKeyID:     accessKey,
			SecretAccessKey: secretKey,
			SessionToken:    getenv(envSessionToken),
			AccountID:       getenv(envAccountID),
			Source:          envCredentialsSource,
		}}
	}
	// FIPS and dual-stack endpoints are compliance settings: silently dropping them would send
	// traffic to endpoints the operator ruled out.
	fips, err := boolFromEnv(getenv, envUseFIPSEndpoint)
	if err != nil {
		return dynamodb.Options{}, err
	}
	if fips {
		opts.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
	}
	dualStack, err := boolFromEnv(getenv, envUseDualStackEndpoint)
	if err != nil {
		return dynamodb.Options{}, err
	}
	if dualStack {
		opts.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
	}
	endpoint, err := endpointFromEnv(getenv)
	if err != nil {
		return dynamodb.Options{}, err
	}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	return opts, nil
}

// endpointFromEnv returns the configured endpoint override, "" for none.
func endpointFromEnv(getenv func(string) string) (string, error) {
	ignore, err := boolFromEnv(getenv, envIgnoreConfiguredEndpoint)
	if err != nil || ignore {
		return "", err
	}
	return firstSet(getenv, envEndpointURLDynamoDB, envEndpointURL), nil
}

// boolFromEnv reads a true/false variable as the SDK does (case-insensitive; unset is false) and
// refuses any other value.
func boolFromEnv(getenv func(string) string, name string) (bool, error) {
	switch v := getenv(name); {
	case v == "", strings.EqualFold(v, "false"):
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	}
	return false, errors.New("dynamodb client: " + name + " must be true or false")
}

// firstSet returns the value of the first of the variables that is set and not empty.
func firstSet(getenv func(string) string, names ...string) string {
	for _, name := range names {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// TablesFromEnv reads the table names from the environment variables a deployed function has,
// through getenv (os.Getenv in production). It names every missing variable in its error.
func TablesFromEnv(getenv func(string) string) (Tables, error) {
	t := Tables{
		APIKeys:      getenv(EnvAPIKeysTable),
		Campaigns:    getenv(EnvCampaignsTable),
		PhoneNumbers: getenv(EnvPhoneNumbersTable),
	}
	var missing []string
	for name, value := range map[string]string{
		EnvAPIKeysTable:      t.APIKeys,
		EnvCampaignsTable:    t.Campaigns,
		EnvPhoneNumbersTable: t.PhoneNumbers,
	} {
		if value == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Tables{}, fmt.Errorf("missing environment variables: %s", strings.Join(missing, ", "))
	}
	return t, nil
}
