package rehearsal

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/sms-platform/phone-numbers/local/emfcheck"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/rie"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// Function is the deployed function as the engine describes it, and what the rehearsal runs.
type Function struct {
	// Name is the function's name.
	Name string
	// Env holds the environment variables the stack gave the function.
	Env map[string]string
	// Tables are the tables Env names (dynamostore.TablesFromEnv), the function's own reading.
	Tables dynamostore.Tables
	// MemoryMB, TimeoutSeconds, Handler and Version are the configuration the emulator is given.
	MemoryMB, TimeoutSeconds int
	Handler, Version         string
	// RoleARN is the execution role; Statements its inline policies' statements and Managed its
	// attached managed policies.
	RoleARN    string
	Statements []statement
	Managed    []string
	// Quirks are what reading the role needed to undo in the engine's answers.
	Quirks []string
}

// describeFunction reads the function the stack created back from the engine: configuration,
// environment and the role's policies.
func (r *Rehearsal) describeFunction(ctx context.Context, name string) (*Function, error) {
	cfg, err := r.aws.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("get configuration of function %s: %w", name, err)
	}
	fn := &Function{
		Name: aws.ToString(cfg.FunctionName), Env: map[string]string{}, Handler: aws.ToString(cfg.Handler),
		MemoryMB: int(aws.ToInt32(cfg.MemorySize)), TimeoutSeconds: int(aws.ToInt32(cfg.Timeout)),
		RoleARN: aws.ToString(cfg.Role), Version: "$LATEST",
	}
	if cfg.Environment != nil {
		maps.Copy(fn.Env, cfg.Environment.Variables)
	}
	if fn.Tables, err = dynamostore.TablesFromEnv(func(k string) string { return fn.Env[k] }); err != nil {
		return fn, fmt.Errorf("the environment the stack gave the function does not name its tables: %w", err)
	}
	// The newest published version, which the alias would point at.
	versions, err := r.aws.lambda.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name)})
	if err == nil {
		for _, v := range versions.Versions {
			if n, err := strconv.Atoi(aws.ToString(v.Version)); err == nil && (fn.Version == "$LATEST" || n > mustAtoi(fn.Version)) {
				fn.Version = aws.ToString(v.Version)
			}
		}
	}
	if fn.Statements, fn.Managed, fn.Quirks, err = r.rolePolicies(ctx, fn.RoleARN); err != nil {
		return fn, err
	}
	return fn, nil
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// lambdaEnv returns the environment Lambda gives fn's bootstrap: the stack's variables, then the
// service's own (name, version, memory, timeout, region, the role's credentials), with one local
// addition, the DynamoDB endpoint. Dummy credentials stand in for the role's: moto does not check
// them, and the IAM proxy applies the role's policies instead.
func lambdaEnv(fn *Function, dynamoEndpoint string) (env map[string]string, local []string) {
	env = maps.Clone(fn.Env)
	service := map[string]string{
		"AWS_REGION":                      region,
		"AWS_DEFAULT_REGION":              region,
		"AWS_ACCESS_KEY_ID":               "ASIAREHEARSALROLE",
		"AWS_SECRET_ACCESS_KEY":           "rehearsal",
		"AWS_SESSION_TOKEN":               "rehearsal",
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(fn.TimeoutSeconds),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "rehearsal",
		"_HANDLER":                        fn.Handler,
		"TZ":                              ":UTC",
	}
	for k, v := range service {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamoEndpoint
	return env, []string{"AWS_ENDPOINT_URL_DYNAMODB"}
}

// Served is the outcome of one request served by the deployed function.
type Served struct {
	// Event is the event file sent.
	Event string
	// Status is the HTTP status of the function's response; Body its body.
	Status int
	Body   string
	// Calls are the DynamoDB permission checks the request needed, in order.
	Calls []Call
	// Metrics are the metrics CloudWatch would extract from the request's log line.
	Metrics []emfcheck.Metric
	// Stored is the phone number's item after the request, as the table holds it.
	Stored map[string]any
	// Took is the wall time of the invoke, cold start included.
	Took time.Duration
}

// serve runs the locally built bootstrap under the Lambda emulator with the environment the stack
// gave fn, sends it the event file, and reads back what the request did: status, permission
// checks, metrics, and the stored number.
func (r *Rehearsal) serve(ctx context.Context, fn *Function, eventFile string) (*Served, error) {
	event, err := os.ReadFile(eventFile)
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("event %s: %w", eventFile, err)
	}
	tableARN := func(table string) string {
		return "arn:aws:dynamodb:" + region + ":" + accountOf(fn.RoleARN) + ":table/" + table
	}
	proxy, err := startIAMProxy(r.moto.Endpoint, fn.Statements, fn.RoleARN, tableARN)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	env, _ := lambdaEnv(fn, proxy.URL)
	var output enginetest.LockedBuffer
	emulator, err := rie.Start(ctx, rie.Options{RIE: r.opts.RIE, Bootstrap: r.hostBootstrap, Env: env, Output: &output, LogLevel: "error"})
	if err != nil {
		return nil, err
	}
	defer emulator.Stop()
	invokeCtx, cancel := context.WithTimeout(ctx, time.Duration(fn.TimeoutSeconds)*time.Second+30*time.Second)
	defer cancel()
	start := time.Now()
	payload, err := emulator.Invoke(invokeCtx, event)
	took := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("invoke the function with %s: %w\n%s", filepath.Base(eventFile), err, output.String())
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, fmt.Errorf("the function's response is not an HTTP API response: %w: %s", err, payload)
	}
	// The request log line may still be on its way through the emulator's output: stopping it
	// waits for all of it.
	emulator.Stop()
	s := &Served{Event: filepath.Base(eventFile), Status: resp.StatusCode, Body: resp.Body, Calls: proxy.Calls(), Took: took}
	for _, line := range strings.Split(output.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			if s.Metrics, err = emfcheck.Check([]byte(line)); err != nil {
				return s, fmt.Errorf("the request log line is not valid EMF: %w\n%s", err, line)
			}
		}
	}
	if s.Stored, err = r.readNumber(ctx, fn.Tables.PhoneNumbers, eventFile); err != nil {
		return s, err
	}
	return s, nil
}

// readNumber returns the stored item of the phone number eventFile's path names, from table.
func (r *Rehearsal) readNumber(ctx context.Context, table, eventFile string) (map[string]any, error) {
	raw, err := os.ReadFile(eventFile)
	if err != nil {
		return nil, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("event %s: %w", eventFile, err)
	}
	id := ev.PathParameters["id"]
	out, err := r.aws.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]ddbtypes.AttributeValue{dynamostore.PhoneNumbersHashKey: &ddbtypes.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read phone number %s from %s: %w", id, table, err)
	}
	var item map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &item); err != nil {
		return nil, fmt.Errorf("read phone number %s from %s: %w", id, table, err)
	}
	return item, nil
}

// accountOf returns the account id in an ARN.
func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 4 {
		return parts[4]
	}
	return ""
}

// expectedFields returns the fields an event's JSON body sets, with "" (clear) as nil.
func expectedFields(eventFile string) (map[string]any, error) {
	raw, err := os.ReadFile(eventFile)
	if err != nil {
		return nil, err
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
		return nil, fmt.Errorf("%s: body is not a JSON object: %w", eventFile, err)
	}
	for k, v := range body {
		if v == "" {
			body[k] = nil
		}
	}
	return body, nil
}

// changedAsAsked lists how stored differs from the fields the event set.
func changedAsAsked(want, stored map[string]any) []string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got := stored[k]; fmt.Sprint(got) != fmt.Sprint(want[k]) && !(want[k] == nil && got == nil) {
			diffs = append(diffs, fmt.Sprintf("%s is %v, want %v", k, got, want[k]))
		}
	}
	return diffs
}

// checkMetrics lists what is wrong with a request's metrics: they must be attributed to fn.
func checkMetrics(s *Served, fn *Function) []string {
	if len(s.Metrics) == 0 {
		return []string{"the request wrote no log line with metrics"}
	}
	var problems []string
	for _, m := range s.Metrics {
		if m.Namespace != apigw.MetricsNamespace || m.Dimensions[apigw.DimensionFunction] != fn.Name {
			problems = append(problems, fmt.Sprintf("metric %s/%s %v is not the function's", m.Namespace, m.Name, m.Dimensions))
		}
	}
	return problems
}
