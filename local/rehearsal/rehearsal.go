// Package rehearsal rehearses the cloud deployment of template.yaml with no AWS account, on
// moto_server, which implements CloudFormation, S3, IAM, Lambda (creation only), DynamoDB, Logs and
// CloudWatch on one local port. It goes the way `sam build` and `sam deploy` go: the Makefile
// target SAM runs builds the arm64 bootstrap, the zip is uploaded to a bucket, the SAM translator
// expands the template as CloudFormation's transform does, and the stack is created. Then it checks
// the deployment against the code: the tables the stack created have the store's keys, the
// environment the stack gave the function names them, and a real PATCH, served by the real
// bootstrap under the Lambda Runtime Interface Emulator with that environment, succeeds against
// those tables with every DynamoDB call allowed by the role the stack created. It updates the
// stack, deletes it (the tables are retained), shows that re-creating it collides with the
// retained tables, and adopts them through the *TableName parameters.
//
// Where moto lacks a CloudFormation feature, the rehearsal adapts the expanded template and says
// so (see Adaptation); resource types moto does not model are listed as placeholders. The
// template that ships is never changed. It is local tooling: make deploy-rehearsal and its test.
package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sms-platform/phone-numbers/local/cfn"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/fixtures"
	"github.com/sms-platform/phone-numbers/local/pytools"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

const (
	// region is the region the rehearsal deploys to, as samconfig.toml's deploy does.
	region = "us-east-1"
	// functionLogicalID is the function's logical id in template.yaml.
	functionLogicalID = "UpdatePhoneNumberFunction"
	// artifactBucket holds the uploaded package, as the bucket sam deploy's resolve_s3 makes.
	artifactBucket = "rehearsal-artifacts"
	// DefaultStackName is samconfig.toml's stack name, so the names the stack gives its
	// resources are the production ones.
	DefaultStackName = "phone-numbers"
)

// The events the rehearsal sends: the first PATCH after the stack is created, and one after
// the retained tables are adopted by a new stack.
const (
	firstEvent   = "update-success.json"
	adoptedEvent = "clear-field.json"
)

// Options configures a rehearsal.
type Options struct {
	// Root is the repository root: template.yaml, the Makefile, events/ and the demo fixtures.
	Root string
	// Python runs the SAM translator; empty means python3.
	Python string
	// RIE is the aws-lambda-rie executable.
	RIE string
	// StackName names the stack; empty means DefaultStackName.
	StackName string
	// Out receives the rehearsal's report as it goes; nil discards it.
	Out io.Writer
}

// Rehearsal is a running rehearsal: the local engine, its clients and the built function.
type Rehearsal struct {
	opts          Options
	out           io.Writer
	translator    *Translator
	moto          *engine.Engine
	aws           *clients
	work          string
	artifactKey   string
	hostBootstrap string
	started       time.Time
	said          map[string]bool
	// translatorStart is how long the translator took to import.
	translatorStart time.Duration
}

// New checks that the tools the rehearsal needs are installed, starting nothing yet. A missing
// tool is an error wrapping engine.ErrMotoUnavailable or ErrTranslatorUnavailable.
func New(ctx context.Context, opts Options) (*Rehearsal, error) {
	if opts.StackName == "" {
		opts.StackName = DefaultStackName
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if _, err := pytools.Find(opts.Root, pytools.Moto); err != nil {
		return nil, fmt.Errorf("%w: %v", engine.ErrMotoUnavailable, err)
	}
	if info, err := os.Stat(opts.RIE); err != nil || info.IsDir() {
		return nil, fmt.Errorf("the Lambda emulator %q is not installed (make tools)", opts.RIE)
	}
	started := time.Now()
	translator, err := startTranslator(ctx, opts)
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "deploy-rehearsal-")
	if err != nil {
		translator.Close()
		return nil, err
	}
	return &Rehearsal{opts: opts, out: out, translator: translator, work: work, started: started, translatorStart: time.Since(started)}, nil
}

// startTranslator starts the SAM translator with opts.Python, or else with the first of python3
// on PATH and the project's virtualenv's python3 (where make python-tools installs cfn-lint,
// which brings the translator) that imports it.
func startTranslator(ctx context.Context, opts Options) (*Translator, error) {
	candidates := []string{opts.Python}
	if opts.Python == "" {
		candidates = []string{"python3", filepath.Join(pytools.VenvBin(opts.Root), "python3")}
	}
	var reasons []string
	for _, python := range candidates {
		tr, err := StartTranslator(ctx, python, region)
		if err == nil {
			return tr, nil
		}
		if !errors.Is(err, ErrTranslatorUnavailable) {
			return nil, err
		}
		reasons = append(reasons, strings.TrimLeft(strings.TrimPrefix(err.Error(), ErrTranslatorUnavailable.Error()), ": "))
	}
	return nil, fmt.Errorf("%w (%s); %s", ErrTranslatorUnavailable, strings.Join(reasons, "; "), pytools.CfnLint.InstallHint())
}

// Close stops the engine and the translator and removes the work folder.
func (r *Rehearsal) Close() {
	r.translator.Close()
	if r.moto != nil {
		r.moto.Stop()
	}
	_ = os.RemoveAll(r.work)
}

// say prints one line of the report under a step name, with how long the step took when took
// is not zero.
func (r *Rehearsal) say(step string, took time.Duration, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if took > 0 {
		line += fmt.Sprintf(" (%s)", took.Round(10*time.Millisecond))
	}
	fmt.Fprintf(r.out, "  %-10s %s\n", step, line)
}

// sayOnce prints a continuation line the first time it comes up.
func (r *Rehearsal) sayOnce(line string) {
	if r.said == nil {
		r.said = map[string]bool{}
	}
	if !r.said[line] {
		r.said[line] = true
		r.sayMore("%s", line)
	}
}

// sayMore prints a continuation line of the current step.
func (r *Rehearsal) sayMore(format string, args ...any) {
	fmt.Fprintf(r.out, "  %-10s   %s\n", "", fmt.Sprintf(format, args...))
}

// Prepare builds the function as sam build does, and for the emulator, starts the engine and
// uploads the package.
func (r *Rehearsal) Prepare(ctx context.Context) error {
	fmt.Fprintf(r.out, "deploy rehearsal of template.yaml on moto_server (no AWS account); SAM translator %s ready in %s\n",
		r.translator.Version, r.translatorStart.Round(10*time.Millisecond))
	start := time.Now()
	a, how, err := buildArtifact(ctx, r.opts.Root, functionLogicalID, filepath.Join(r.work, "build", functionLogicalID))
	if err != nil {
		return err
	}
	r.say("build", time.Since(start), "%s: bootstrap linux/arm64 %s, zip %s", how, bytesText(int64(len(mustRead(a.Bootstrap)))), bytesText(int64(len(a.Zip))))

	start = time.Now()
	r.hostBootstrap = filepath.Join(r.work, "host", "bootstrap")
	if err := buildHostBootstrap(ctx, r.opts.Root, r.hostBootstrap); err != nil {
		return err
	}
	r.say("build", time.Since(start), "the same code for this machine (linux), for the Lambda emulator: the arm64 build cannot run here")

	start = time.Now()
	if r.moto, err = engine.StartMoto(ctx, 0); err != nil {
		return err
	}
	r.aws = newClients(r.moto.Endpoint)
	r.say("engine", time.Since(start), "moto_server on %s", r.moto.Endpoint)

	start = time.Now()
	if err := r.uploadArtifact(ctx, a); err != nil {
		return err
	}
	r.say("upload", time.Since(start), "s3://%s/%s, as sam deploy's resolve_s3 and sam package do", artifactBucket, r.artifactKey)
	return nil
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// Deployment is what CreateAndServe found.
type Deployment struct {
	// Stack is the stack as created.
	Stack *Stack
	// Function is the function it created, as the engine describes it.
	Function *Function
	// Served is the first PATCH's outcome.
	Served *Served
	// Mismatches are the ways in which the deployment and the code disagree.
	Mismatches []string
}

// CreateAndServe creates stack name from the SAM template sam with params, checks the tables and
// the function it made against the code, seeds the demo data into the stack's own tables (unless
// keepData is set: adopted tables already hold it) and serves the event file through the
// deployed function. What disagrees is in the result's Mismatches; the error is for the
// rehearsal failing to run.
func (r *Rehearsal) CreateAndServe(ctx context.Context, name string, sam Template, params map[string]string, eventFile string, keepData bool) (*Deployment, error) {
	d := &Deployment{}
	mismatch := func(format string, args ...any) { d.Mismatches = append(d.Mismatches, fmt.Sprintf(format, args...)) }
	stack, err := r.deploy(ctx, name, sam, params, false)
	if err != nil {
		return nil, err
	}
	d.Stack = stack
	r.say("expand", stack.Expanding, "SAM translator: %d resources from template.yaml", len(stack.Expanded.resources()))
	for _, a := range stack.Adaptations {
		r.say("adapt", 0, "%s", a)
	}
	r.say("create", stack.Took, "stack %s: %s", name, stack.Outcome())
	if !stack.Succeeded() {
		mismatch("stack %s: %s", name, stack.Outcome())
		return d, nil
	}
	r.reportStack(stack)

	tables, ok := outputTables(stack)
	if !ok {
		mismatch("stack %s has no outputs naming its three tables: %v", name, stack.Outputs)
		return d, nil
	}
	for _, m := range r.checkTables(ctx, tables) {
		mismatch("%s", m)
	}

	fn, err := r.describeFunction(ctx, stack.Outputs["FunctionName"])
	d.Function = fn
	if err != nil {
		mismatch("function %s: %v", stack.Outputs["FunctionName"], err)
		return d, nil
	}
	r.reportFunction(fn)
	if fn.Tables != tables {
		mismatch("the function's environment names tables %+v, but the stack's outputs name %+v", fn.Tables, tables)
	}

	if !keepData {
		start := time.Now()
		demo, err := fixtures.Load(filepath.Join(r.opts.Root, "local", "fixtures", "demo.json"))
		if err != nil {
			return nil, err
		}
		if err := fixtures.Seed(ctx, r.aws.ddb, tables, demo); err != nil {
			mismatch("seeding the demo data into the stack's tables failed: %v", err)
			return d, nil
		}
		r.say("seed", time.Since(start), "demo data (local/fixtures/demo.json) into the stack's tables %s, %s, %s", tables.APIKeys, tables.Campaigns, tables.PhoneNumbers)
	}

	d.Served, err = r.serveAndCheck(ctx, fn, eventFile, mismatch)
	return d, err
}

// serveAndCheck serves eventFile through fn, prints the outcome and records what is wrong with it.
func (r *Rehearsal) serveAndCheck(ctx context.Context, fn *Function, eventFile string, mismatch func(string, ...any)) (*Served, error) {
	s, err := r.serve(ctx, fn, filepath.Join(r.opts.Root, "events", eventFile))
	if err != nil {
		if s == nil {
			return nil, err
		}
		mismatch("%v", err)
	}
	r.say("PATCH", s.Took, "events/%s through the function under the Lambda emulator: status %d", eventFile, s.Status)
	for _, c := range s.Calls {
		r.sayMore("DynamoDB %s", c)
		if !c.Allowed {
			mismatch("the function called %s on %s, which its role does not allow", c.Action, c.Table)
		}
	}
	if s.Status != 200 {
		mismatch("events/%s: status %d, want 200: %s", eventFile, s.Status, s.Body)
	}
	want, err := expectedFields(filepath.Join(r.opts.Root, "events", eventFile))
	if err != nil {
		return s, err
	}
	if diffs := changedAsAsked(want, s.Stored); len(diffs) > 0 {
		mismatch("after events/%s the stored number differs from the request: %s", eventFile, strings.Join(diffs, "; "))
	} else {
		r.sayMore("stored in %s: %s", fn.Tables.PhoneNumbers, fieldsText(want, s.Stored))
	}
	for _, p := range checkMetrics(s, fn) {
		mismatch("%s", p)
	}
	if len(s.Metrics) > 0 {
		var names []string
		for _, m := range s.Metrics {
			var dims []string
			for _, k := range slices.Sorted(maps.Keys(m.Dimensions)) {
				dims = append(dims, k+"="+m.Dimensions[k])
			}
			names = append(names, fmt.Sprintf("%s{%s} %v %s", m.Name, strings.Join(dims, ","), m.Values[0], m.Unit))
		}
		r.sayMore("metrics CloudWatch would extract from the request log line (namespace %s): %s", s.Metrics[0].Namespace, strings.Join(names, "; "))
	}
	return s, nil
}

func fieldsText(want, stored map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := stored[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		} else {
			parts = append(parts, k+" removed (cleared)")
		}
	}
	return strings.Join(parts, ", ")
}

// outputTables returns the three table names of the stack's outputs.
func outputTables(s *Stack) (dynamostore.Tables, bool) {
	t := dynamostore.Tables{APIKeys: s.Outputs["ApiKeysTableName"], Campaigns: s.Outputs["CampaignsTableName"], PhoneNumbers: s.Outputs["PhoneNumbersTableName"]}
	return t, t.APIKeys != "" && t.Campaigns != "" && t.PhoneNumbers != ""
}

// reportStack prints the stack's placeholders and outputs.
func (r *Rehearsal) reportStack(s *Stack) {
	if len(s.Placeholders) > 0 {
		r.sayMore("placeholders (moto has no CloudFormation model of these types; nothing exists for them): %s", describeIDs(s.Expanded, s.Placeholders))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Outputs)) {
		r.sayMore("output %s = %s", k, s.Outputs[k])
	}
	if u := unresolvedOutputs(s); len(u) > 0 {
		r.sayMore("outputs moto could not resolve: %s", strings.Join(u, "; "))
	}
}

// reportFunction prints the function's configuration as the engine holds it.
func (r *Rehearsal) reportFunction(fn *Function) {
	var env []string
	for _, k := range slices.Sorted(maps.Keys(fn.Env)) {
		env = append(env, k+"="+fn.Env[k])
	}
	r.say("function", 0, "%s (GetFunctionConfiguration): %d MB, %d s, handler %s, version %s; environment %s",
		fn.Name, fn.MemoryMB, fn.TimeoutSeconds, fn.Handler, fn.Version, strings.Join(env, " "))
	var sids []string
	for _, s := range fn.Statements {
		sids = append(sids, fmt.Sprintf("%s %s %v on %v", s.Sid, s.Effect, s.Action, s.Resource))
	}
	r.sayMore("role %s: %s", fn.RoleARN, strings.Join(sids, "; "))
	for _, q := range fn.Quirks {
		r.sayOnce(q)
	}
}

// checkTables compares the tables the stack made with the store's definitions.
func (r *Rehearsal) checkTables(ctx context.Context, tables dynamostore.Tables) []string {
	var problems []string
	var described []string
	for _, want := range dynamostore.CreateTableInputs(tables) {
		name := aws.ToString(want.TableName)
		out, err := r.aws.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: want.TableName})
		if err != nil {
			problems = append(problems, fmt.Sprintf("table %s named in the outputs: %v", name, err))
			continue
		}
		got := out.Table
		keys := func(in []string) string { return strings.Join(in, ", ") }
		var wantKeys, gotKeys, wantAttrs, gotAttrs []string
		for _, k := range want.KeySchema {
			wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		for _, k := range got.KeySchema {
			gotKeys = append(gotKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		for _, a := range want.AttributeDefinitions {
			wantAttrs = append(wantAttrs, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
		}
		for _, a := range got.AttributeDefinitions {
			gotAttrs = append(gotAttrs, aws.ToString(a.AttributeName)+" "+string(a.AttributeType))
		}
		slices.Sort(wantAttrs)
		slices.Sort(gotAttrs)
		if !reflect.DeepEqual(gotKeys, wantKeys) || !reflect.DeepEqual(gotAttrs, wantAttrs) {
			problems = append(problems, fmt.Sprintf("table %s has key schema [%s] over [%s]; the store expects [%s] over [%s]",
				name, keys(gotKeys), keys(gotAttrs), keys(wantKeys), keys(wantAttrs)))
		}
		billing := ""
		if got.BillingModeSummary != nil {
			billing = string(got.BillingModeSummary.BillingMode)
		}
		if billing != string(want.BillingMode) {
			problems = append(problems, fmt.Sprintf("table %s bills %q, want %s", name, billing, want.BillingMode))
		}
		if !aws.ToBool(got.DeletionProtectionEnabled) {
			problems = append(problems, fmt.Sprintf("table %s has no deletion protection", name))
		}
		described = append(described, fmt.Sprintf("%s [%s]", name, keys(gotKeys)))
	}
	r.say("tables", 0, "the stack's tables have the store's key schemas, on demand, deletion protection on: %s", strings.Join(described, ", "))
	return problems
}

// Report is the whole rehearsal's outcome.
type Report struct {
	// Created is the first stack, created with default parameters, and its first PATCH.
	Created *Deployment
	// Updated is the stack after the parameter change, and UpdatedLogLevel the function's
	// LOG_LEVEL then.
	Updated         *Stack
	UpdatedLogLevel string
	// Retained and Deleted list the stack's resources that outlived its deletion and those that
	// did not, as "LogicalId physical-id"; Unchecked those of types the rehearsal cannot look up.
	Retained, Deleted, Unchecked []string
	// Collision is the stack re-created under the same name with default parameters, which the
	// retained tables make fail.
	Collision *Stack
	// Adopted is the stack re-created with the *TableName parameters naming the retained tables,
	// with its PATCH against them.
	Adopted *Deployment
	// DataSurvived reports whether the first PATCH's change was still in the adopted table.
	DataSurvived bool
	// Mismatches are every way the deployment and the code disagree, from every step.
	Mismatches []string
	// Took is the rehearsal's wall time.
	Took time.Duration
}

// Run rehearses the whole path and returns the report, and an error when the rehearsal could not
// run or found mismatches.
func Run(ctx context.Context, opts Options) (*Report, error) {
	r, err := New(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := r.Prepare(ctx); err != nil {
		return nil, err
	}
	return r.Rehearse(ctx)
}

// Rehearse runs the steps after Prepare: create and serve, update, delete, collide, adopt.
func (r *Rehearsal) Rehearse(ctx context.Context) (*Report, error) {
	rep := &Report{}
	defer func() { rep.Took = time.Since(r.started) }()
	mismatch := func(format string, args ...any) {
		rep.Mismatches = append(rep.Mismatches, fmt.Sprintf(format, args...))
	}
	src, err := os.ReadFile(filepath.Join(r.opts.Root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	sam, err := cfn.DecodeYAML(src)
	if err != nil {
		return nil, err
	}
	name := r.opts.StackName

	// 1. Create the stack and serve a PATCH through it.
	if rep.Created, err = r.CreateAndServe(ctx, name, sam, nil, firstEvent, false); err != nil {
		return rep, err
	}
	rep.Mismatches = append(rep.Mismatches, rep.Created.Mismatches...)
	if !rep.Created.Stack.Succeeded() || rep.Created.Function == nil {
		return rep, r.finish(rep)
	}

	// 2. Update: a parameter change reaches the function.
	update := map[string]string{"LogLevel": "DEBUG"}
	if rep.Updated, err = r.deploy(ctx, name, sam, update, true); err != nil {
		return rep, err
	}
	fn, err := r.describeFunction(ctx, rep.Created.Function.Name)
	if err != nil {
		return rep, err
	}
	rep.UpdatedLogLevel = fn.Env["LOG_LEVEL"]
	r.say("update", rep.Updated.Expanding+rep.Updated.Took, "stack %s with LogLevel=DEBUG (expanded again, as CloudFormation does): %s; the function's LOG_LEVEL is now %s",
		name, rep.Updated.Outcome(), rep.UpdatedLogLevel)
	if !rep.Updated.Succeeded() || rep.UpdatedLogLevel != "DEBUG" {
		mismatch("update with LogLevel=DEBUG: %s, LOG_LEVEL %q", rep.Updated.Outcome(), rep.UpdatedLogLevel)
	}

	// 3. Delete: the tables stay, everything else goes.
	if err := r.deleteAndAccount(ctx, rep, mismatch); err != nil {
		return rep, err
	}

	// 4. Re-create under the same name: the retained fixed-name tables collide.
	if rep.Collision, err = r.deploy(ctx, name, sam, nil, false); err != nil {
		return rep, err
	}
	r.say("recreate", rep.Collision.Expanding+rep.Collision.Took, "stack %s again with default parameters: %s", name, rep.Collision.Outcome())
	if rep.Collision.Succeeded() {
		mismatch("re-creating stack %s while its tables are retained succeeded; AWS refuses it (the table names exist)", name)
	}
	if rep.Collision.ID != "" {
		status, err := r.deleteStack(ctx, rep.Collision)
		if err != nil {
			return rep, err
		}
		r.sayMore("the failed stack deleted (%s), as AWS requires before a stack of the same name is created again", status)
	}

	// 5. Adopt the retained tables through the *TableName parameters.
	tables := rep.Created.Function.Tables
	adopt := map[string]string{"ApiKeysTableName": tables.APIKeys, "CampaignsTableName": tables.Campaigns, "PhoneNumbersTableName": tables.PhoneNumbers}
	r.say("adopt", 0, "stack %s with ApiKeysTableName=%s CampaignsTableName=%s PhoneNumbersTableName=%s", name, tables.APIKeys, tables.Campaigns, tables.PhoneNumbers)
	if err := r.adopt(ctx, rep, name, sam, adopt, mismatch); err != nil {
		return rep, err
	}
	return rep, r.finish(rep)
}

// deleteAndAccount deletes the created stack and sorts its resources into retained and deleted.
func (r *Rehearsal) deleteAndAccount(ctx context.Context, rep *Report, mismatch func(string, ...any)) error {
	stack := rep.Updated
	if err := r.describeStack(ctx, stack); err != nil {
		return err
	}
	start := time.Now()
	status, err := r.deleteStack(ctx, stack)
	if err != nil {
		return err
	}
	r.say("delete", time.Since(start), "stack %s: %s", stack.Name, status)
	for _, id := range slices.Sorted(maps.Keys(stack.Resources)) {
		res := stack.Resources[id]
		exists, checked, err := r.exists(ctx, res)
		if err != nil {
			return err
		}
		entry := id + " " + res.Physical
		policy, _ := stack.Expanded.resources()[id]["DeletionPolicy"].(string)
		switch {
		case !checked:
			rep.Unchecked = append(rep.Unchecked, id)
		case exists:
			rep.Retained = append(rep.Retained, entry)
			if policy != "Retain" {
				mismatch("%s (%s) outlived the stack without DeletionPolicy Retain", id, res.Type)
			}
		default:
			rep.Deleted = append(rep.Deleted, entry)
			if policy == "Retain" {
				mismatch("%s (%s) has DeletionPolicy Retain but was deleted", id, res.Type)
			}
		}
	}
	r.sayMore("retained (DeletionPolicy Retain): %s", strings.Join(rep.Retained, ", "))
	r.sayMore("deleted: %s", strings.Join(rep.Deleted, ", "))
	if len(rep.Unchecked) > 0 {
		r.sayMore("not looked up (the rehearsal does not query these types): %s", strings.Join(rep.Unchecked, ", "))
	}
	return nil
}

// adopt creates the stack again over the retained tables, checks that their data survived and
// serves a PATCH against them, then deletes the stack, leaving the tables.
func (r *Rehearsal) adopt(ctx context.Context, rep *Report, name string, sam Template, params map[string]string, mismatch func(string, ...any)) error {
	tables := rep.Created.Function.Tables
	// What the first PATCH stored must still be there.
	first := filepath.Join(r.opts.Root, "events", firstEvent)
	stored, err := r.readNumber(ctx, tables.PhoneNumbers, first)
	if err != nil {
		return err
	}
	want, err := expectedFields(first)
	if err != nil {
		return err
	}
	rep.DataSurvived = len(stored) > 0 && len(changedAsAsked(want, stored)) == 0
	d, err := r.CreateAndServe(ctx, name, sam, params, adoptedEvent, true)
	if err != nil {
		return err
	}
	rep.Adopted = d
	rep.Mismatches = append(rep.Mismatches, d.Mismatches...)
	if !d.Stack.Succeeded() || d.Function == nil {
		return nil
	}
	if d.Function.Tables != tables {
		mismatch("the adopting stack's function names tables %+v, want the retained %+v", d.Function.Tables, tables)
	}
	var tableResources []string
	for id, res := range d.Stack.Resources {
		if res.Type == "AWS::DynamoDB::Table" {
			tableResources = append(tableResources, id)
		}
	}
	r.sayMore("the adopting stack has %d table resources; the first PATCH's data was %s", len(tableResources), map[bool]string{true: "still there", false: "LOST"}[rep.DataSurvived])
	if len(tableResources) > 0 {
		mismatch("the stack adopting the retained tables created tables itself: %v", tableResources)
	}
	if !rep.DataSurvived {
		mismatch("the retained phone numbers table lost the first PATCH's change")
	}
	start := time.Now()
	status, err := r.deleteStack(ctx, d.Stack)
	if err != nil {
		return err
	}
	var left []string
	for _, t := range []string{tables.APIKeys, tables.Campaigns, tables.PhoneNumbers} {
		if exists, _, err := r.exists(ctx, stackResource{Type: "AWS::DynamoDB::Table", Physical: t}); err == nil && exists {
			left = append(left, t)
		}
	}
	r.say("delete", time.Since(start), "stack %s: %s; the adopted tables stay: %s", name, status, strings.Join(left, ", "))
	if len(left) != 3 {
		mismatch("deleting the adopting stack removed adopted tables: %d of 3 left", len(left))
	}
	return nil
}

// finish prints the verdict.
func (r *Rehearsal) finish(rep *Report) error {
	took := time.Since(r.started).Round(100 * time.Millisecond)
	if len(rep.Mismatches) == 0 {
		fmt.Fprintf(r.out, "deploy rehearsal: OK in %s\n", took)
		return nil
	}
	fmt.Fprintf(r.out, "deploy rehearsal: %d mismatches between the deployment and the code (%s):\n", len(rep.Mismatches), took)
	for _, m := range rep.Mismatches {
		fmt.Fprintf(r.out, "  - %s\n", m)
	}
	return errors.New("deploy rehearsal: " + strings.Join(rep.Mismatches, "; "))
}
