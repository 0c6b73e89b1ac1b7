package rehearsal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// stackTimeout bounds the wait for a stack operation; moto finishes in seconds.
const stackTimeout = 3 * time.Minute

// clients talk to the local engine's services.
type clients struct {
	// cfnErrors holds the body of CloudFormation's last error response: moto answers some
	// failures with another service's error document, which the SDK cannot decode.
	cfnErrors *errorBodies
	cfn       *cloudformation.Client
	s3        *s3.Client
	lambda    *lambda.Client
	iam       *iam.Client
	ddb       *dynamodb.Client
	logs      *cloudwatchlogs.Client
	cw        *cloudwatch.Client
}

// newClients returns clients for the engine at endpoint, with dummy credentials and timeouts
// generous enough for a machine busy compiling: these are set-up calls, not the function's.
func newClients(endpoint string) *clients {
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("rehearsal", "rehearsal", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   awshttp.NewBuildableClient().WithTimeout(2 * time.Minute),
	}
	recorder := &errorBodies{next: http.DefaultTransport}
	return &clients{
		cfnErrors: recorder,
		cfn: cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) {
			o.HTTPClient = &http.Client{Transport: recorder, Timeout: 2 * time.Minute}
		}),
		s3:     s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		lambda: lambda.NewFromConfig(cfg),
		iam:    iam.NewFromConfig(cfg),
		ddb:    dynamodb.NewFromConfig(cfg),
		logs:   cloudwatchlogs.NewFromConfig(cfg),
		cw:     cloudwatch.NewFromConfig(cfg),
	}
}

// errorBodies is a transport that keeps the body of the last error response.
type errorBodies struct {
	next http.RoundTripper
	mu   sync.Mutex
	last string
}

// RoundTrip forwards the request, keeping a copy of an error response's body.
func (e *errorBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, readErr := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if readErr == nil {
		e.mu.Lock()
		e.last = string(body)
		e.mu.Unlock()
	}
	return resp, nil
}

// lastError returns the last error response's message, read from JSON or XML error documents.
func (e *errorBodies) lastError() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var doc struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(e.last), &doc) == nil && doc.Message != "" {
		return doc.Type[strings.LastIndex(doc.Type, "#")+1:] + ": " + doc.Message
	}
	return strings.TrimSpace(e.last)
}

// stackResource is one resource of a stack as the engine lists it.
type stackResource struct {
	Type, Physical string
}

// Stack is a stack the rehearsal created or updated, as the engine reports it.
type Stack struct {
	// Name and ID identify the stack.
	Name, ID string
	// Params are the parameter values it was given; the rest take their defaults.
	Params map[string]string
	// Expanded is the plain CloudFormation template the engine received.
	Expanded Template
	// Adaptations are the changes made to Expanded for the engine.
	Adaptations []Adaptation
	// Status is the stack's final status, and Reason the failing resource and its reason.
	Status, Reason string
	// Outputs are the stack's outputs the engine resolved.
	Outputs map[string]string
	// Resources are the resources the engine lists, by logical id.
	Resources map[string]stackResource
	// Placeholders are the resources the stack should have that the engine does not model: it
	// counts them as created, but nothing exists.
	Placeholders []string
	// Expanding is how long the SAM translator took, and Took how long the engine's operation.
	Expanding, Took time.Duration
}

// Outcome is the stack's status, with the reason when it failed.
func (s *Stack) Outcome() string {
	if s.Reason == "" {
		return s.Status
	}
	return s.Status + ": " + s.Reason
}

// Succeeded reports whether the last operation on the stack completed.
func (s *Stack) Succeeded() bool {
	return s.Status == string(cfntypes.StackStatusCreateComplete) || s.Status == string(cfntypes.StackStatusUpdateComplete)
}

// deploy creates the stack name from the SAM template sam with params, or updates it when update
// is set: it packages the code (CodeUri to the uploaded artefact), expands the template with the
// SAM translator as CloudFormation's transform does, adapts it for the engine, submits it and
// waits for the outcome. A stack that fails is returned with its status and reason, not as an
// error; errors are for the rehearsal itself failing.
func (r *Rehearsal) deploy(ctx context.Context, name string, sam Template, params map[string]string, update bool) (*Stack, error) {
	start := time.Now()
	tmpl := sam.clone()
	packageCode(tmpl, artifactBucket, r.artifactKey)
	expanded, err := r.translator.Expand(ctx, tmpl, params)
	if err != nil {
		return nil, err
	}
	exp := Template(expanded)
	stack := &Stack{Name: name, Params: params, Expanded: exp, Adaptations: adaptForMoto(exp), Expanding: time.Since(start)}
	start = time.Now()
	body, err := json.Marshal(exp)
	if err != nil {
		return nil, fmt.Errorf("encode the expanded template: %w", err)
	}
	var parameters []cfntypes.Parameter
	for _, k := range slices.Sorted(maps.Keys(params)) {
		parameters = append(parameters, cfntypes.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	capabilities := []cfntypes.Capability{cfntypes.CapabilityCapabilityIam}
	if update {
		_, err = r.aws.cfn.UpdateStack(ctx, &cloudformation.UpdateStackInput{
			StackName: aws.String(name), TemplateBody: aws.String(string(body)), Parameters: parameters, Capabilities: capabilities,
		})
	} else {
		var out *cloudformation.CreateStackOutput
		out, err = r.aws.cfn.CreateStack(ctx, &cloudformation.CreateStackInput{
			StackName: aws.String(name), TemplateBody: aws.String(string(body)), Parameters: parameters, Capabilities: capabilities,
		})
		if err == nil {
			stack.ID = aws.ToString(out.StackId)
		}
	}
	if err != nil {
		// moto creates synchronously, so a resource it cannot create fails the API call itself,
		// and leaves the stack behind, in progress for ever: find it, for deleting.
		stack.Status = "FAILED"
		stack.Reason = "the engine refused the stack: " + err.Error()
		if body := r.aws.cfnErrors.lastError(); body != "" {
			stack.Reason = "the engine refused the stack: " + body
		}
		stack.Took = time.Since(start)
		if !update {
			stack.ID = r.leftBehind(ctx, name)
		}
		return stack, nil
	}
	if err := r.waitForStack(ctx, stack); err != nil {
		return nil, err
	}
	stack.Took = time.Since(start)
	if !stack.Succeeded() {
		return stack, nil
	}
	return stack, r.describeStack(ctx, stack)
}

// leftBehind returns the id of a stack named name that is not deleted, "" when there is none.
func (r *Rehearsal) leftBehind(ctx context.Context, name string) string {
	out, err := r.aws.cfn.ListStacks(ctx, &cloudformation.ListStacksInput{})
	if err != nil {
		return ""
	}
	for _, s := range out.StackSummaries {
		if aws.ToString(s.StackName) == name && s.StackStatus != cfntypes.StackStatusDeleteComplete {
			return aws.ToString(s.StackId)
		}
	}
	return ""
}

// waitForStack polls the stack until no operation is in progress and records its status, and on
// failure the first failing resource and its reason.
func (r *Rehearsal) waitForStack(ctx context.Context, stack *Stack) error {
	id := stack.ID
	if id == "" {
		id = stack.Name
	}
	ctx, cancel := context.WithTimeout(ctx, stackTimeout)
	defer cancel()
	for {
		out, err := r.aws.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(id)})
		if err != nil {
			return fmt.Errorf("describe stack %s: %w", stack.Name, err)
		}
		if len(out.Stacks) != 1 {
			return fmt.Errorf("describe stack %s: got %d stacks", stack.Name, len(out.Stacks))
		}
		s := out.Stacks[0]
		stack.ID = aws.ToString(s.StackId)
		stack.Status = string(s.StackStatus)
		if !strings.HasSuffix(stack.Status, "_IN_PROGRESS") {
			if !stack.Succeeded() && stack.Status != string(cfntypes.StackStatusDeleteComplete) {
				stack.Reason = r.failureReason(ctx, stack.ID, aws.ToString(s.StackStatusReason))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stack %s still %s after %s", stack.Name, stack.Status, stackTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// failureReason returns the oldest failed resource event of the stack, or fallback.
func (r *Rehearsal) failureReason(ctx context.Context, id, fallback string) string {
	out, err := r.aws.cfn.DescribeStackEvents(ctx, &cloudformation.DescribeStackEventsInput{StackName: aws.String(id)})
	if err != nil {
		return fallback
	}
	reason := fallback
	for _, e := range out.StackEvents { // newest first: the last failure listed is the first
		if strings.HasSuffix(string(e.ResourceStatus), "_FAILED") && aws.ToString(e.LogicalResourceId) != "" {
			reason = fmt.Sprintf("%s (%s): %s", aws.ToString(e.LogicalResourceId), aws.ToString(e.ResourceType), aws.ToString(e.ResourceStatusReason))
		}
	}
	return reason
}

// describeStack records the stack's outputs, its resources and the placeholders among them.
func (r *Rehearsal) describeStack(ctx context.Context, stack *Stack) error {
	out, err := r.aws.cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack.ID)})
	if err != nil {
		return fmt.Errorf("describe stack %s: %w", stack.Name, err)
	}
	stack.Outputs = map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		stack.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	res, err := r.aws.cfn.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(stack.ID)})
	if err != nil {
		return fmt.Errorf("list resources of stack %s: %w", stack.Name, err)
	}
	stack.Resources = map[string]stackResource{}
	for _, sr := range res.StackResources {
		if id := aws.ToString(sr.LogicalResourceId); id != "" {
			stack.Resources[id] = stackResource{Type: aws.ToString(sr.ResourceType), Physical: aws.ToString(sr.PhysicalResourceId)}
		}
	}
	want, err := createdResources(stack.Expanded, stack.Params)
	if err != nil {
		return fmt.Errorf("stack %s: %w", stack.Name, err)
	}
	stack.Placeholders = nil
	for _, id := range want {
		if _, ok := stack.Resources[id]; !ok {
			stack.Placeholders = append(stack.Placeholders, id)
		}
	}
	return nil
}

// deleteStack deletes the stack and waits until it is gone, returning its final status. It polls
// ListStacks, which lists deleted stacks too, rather than DescribeStacks, which moto cannot answer
// for a stack whose creation it refused. The Stack keeps the status of its last deployment.
func (r *Rehearsal) deleteStack(ctx context.Context, stack *Stack) (string, error) {
	if _, err := r.aws.cfn.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String(stack.ID)}); err != nil {
		return "", fmt.Errorf("delete stack %s: %w", stack.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, stackTimeout)
	defer cancel()
	status := string(cfntypes.StackStatusDeleteInProgress)
	for {
		out, err := r.aws.cfn.ListStacks(ctx, &cloudformation.ListStacksInput{})
		if err != nil {
			return "", fmt.Errorf("list stacks: %w", err)
		}
		for _, s := range out.StackSummaries {
			if aws.ToString(s.StackId) == stack.ID {
				status = string(s.StackStatus)
			}
		}
		if !strings.HasSuffix(status, "_IN_PROGRESS") {
			if status != string(cfntypes.StackStatusDeleteComplete) {
				return status, fmt.Errorf("delete stack %s: %s", stack.Name, status)
			}
			return status, nil
		}
		select {
		case <-ctx.Done():
			return status, fmt.Errorf("stack %s still %s after %s", stack.Name, status, stackTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unresolvedOutputs returns the template's outputs the engine did not give, or gave with a
// substitution left in, with why.
func unresolvedOutputs(stack *Stack) []string {
	declared, _ := stack.Expanded["Outputs"].(map[string]any)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(declared)) {
		v, ok := stack.Outputs[k]
		switch {
		case !ok:
			out = append(out, k+" (missing: it refers to "+strings.Join(referencedPlaceholders(declared[k], stack), ", ")+")")
		case strings.Contains(v, "${"):
			out = append(out, k+" (left as "+v+")")
		}
	}
	return out
}

// referencedPlaceholders returns the placeholders v refers to, or "an unknown value".
func referencedPlaceholders(v any, stack *Stack) []string {
	text := jsonText(v)
	var refs []string
	for _, p := range stack.Placeholders {
		if strings.Contains(text, `"`+p+`"`) || strings.Contains(text, "${"+p) {
			refs = append(refs, p+" ("+stack.Expanded.resourceType(p)+", a placeholder)")
		}
	}
	if refs == nil {
		refs = []string{"an unknown value"}
	}
	return refs
}

// rolePolicies returns the statements of the inline policies of the role named by roleARN and
// the ARNs of its attached managed policies, as the engine holds them, and what reading them
// needed to undo in the engine's answers.
func (r *Rehearsal) rolePolicies(ctx context.Context, roleARN string) (statements []statement, managed, quirks []string, err error) {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	names, err := r.aws.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list policies of role %s: %w", name, err)
	}
	for _, p := range names.PolicyNames {
		out, err := r.aws.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("get policy %s of role %s: %w", p, name, err)
		}
		doc, quirk := policyDocument(aws.ToString(out.PolicyDocument))
		if quirk != "" {
			quirks = append(quirks, quirk)
		}
		s, err := parsePolicy(doc)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s of role %s: %w", p, name, err)
		}
		statements = append(statements, s...)
	}
	attached, err := r.aws.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list managed policies of role %s: %w", name, err)
	}
	for _, p := range attached.AttachedPolicies {
		managed = append(managed, aws.ToString(p.PolicyArn))
	}
	return statements, managed, slices.Compact(quirks), nil
}

// policyDocument returns the JSON of a policy document as IAM returns it (URL-encoded), and
// what it had to undo when the engine returned something else.
func policyDocument(doc string) (string, string) {
	if decoded, err := url.QueryUnescape(doc); err == nil && !json.Valid([]byte(doc)) {
		doc = decoded
	}
	if json.Valid([]byte(doc)) {
		return doc, ""
	}
	// moto 5.2.1 returns a policy that CloudFormation gave as an object as Python's repr of it:
	// single-quoted strings. Swapping the quotes restores the JSON when no string holds a quote.
	if swapped := strings.ReplaceAll(doc, "'", `"`); !strings.Contains(doc, `"`) && json.Valid([]byte(swapped)) {
		return swapped, "moto returned the role's policy document as Python's repr of the JSON object; read with its quotes swapped"
	}
	return doc, ""
}

// exists reports whether the physical resource of a deleted stack still exists in the engine,
// and false with checked=false for types the rehearsal does not look up.
func (r *Rehearsal) exists(ctx context.Context, res stackResource) (exists, checked bool, err error) {
	notFound := func(err error) (bool, bool, error) {
		if err == nil {
			return true, true, nil
		}
		var respErr *awshttp.ResponseError
		if errors.As(err, &respErr) && (respErr.HTTPStatusCode() == 404 || respErr.HTTPStatusCode() == 400) {
			return false, true, nil
		}
		return false, true, err
	}
	switch res.Type {
	case "AWS::DynamoDB::Table":
		_, err := r.aws.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(res.Physical)})
		return notFound(err)
	case "AWS::Lambda::Function":
		_, err := r.aws.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(res.Physical)})
		return notFound(err)
	case "AWS::IAM::Role":
		_, err := r.aws.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(res.Physical)})
		return notFound(err)
	case "AWS::CloudWatch::Dashboard":
		_, err := r.aws.cw.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String(res.Physical)})
		return notFound(err)
	case "AWS::Logs::LogGroup":
		out, err := r.aws.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(res.Physical)})
		if err != nil {
			return false, true, err
		}
		return slices.ContainsFunc(out.LogGroups, func(g cwltypes.LogGroup) bool { return aws.ToString(g.LogGroupName) == res.Physical }), true, nil
	}
	return false, false, nil
}

// uploadArtifact creates the artefact bucket and uploads the package, as sam deploy's
// resolve_s3 and sam package do.
func (r *Rehearsal) uploadArtifact(ctx context.Context, a *artifact) error {
	if _, err := r.aws.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(artifactBucket)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", artifactBucket, err)
	}
	r.artifactKey = functionLogicalID + "/" + a.SHA256 + ".zip"
	if _, err := r.aws.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(artifactBucket), Key: aws.String(r.artifactKey), Body: bytes.NewReader(a.Zip),
	}); err != nil {
		return fmt.Errorf("upload s3://%s/%s: %w", artifactBucket, r.artifactKey, err)
	}
	return nil
}
