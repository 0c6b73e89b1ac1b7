package dynamostore

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// The client's retry and timeout policy. A PATCH has a few seconds in all, and DynamoDB answers in
// milliseconds, so attempts are short and backoff is bounded: three attempts fit in a second
// even when every one of them times out, and the request deadline bounds the rest.
const (
	maxAttempts    = 3
	maxBackoff     = 100 * time.Millisecond
	attemptTimeout = 1 * time.Second
	dialTimeout    = 500 * time.Millisecond
)

// NewClient returns a DynamoDB client configured from the environment (region, credentials and
// AWS_ENDPOINT_URL_DYNAMODB, as usual) with the store's retry and timeout policy. opts are applied
// last, so callers can point it at a local engine.
func NewClient(ctx context.Context, opts ...func(*config.LoadOptions) error) (*dynamodb.Client, error) {
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(attemptTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout })
	base := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
			})
		}),
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg), nil
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
