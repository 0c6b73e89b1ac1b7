package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/local/localconfig"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// These tests read template.yaml and check it against the code: what the code assumes about its
// deployment (route, runtime, timeout, environment, key schemas, permissions) is stated once in
// the code and verified here, so that the two cannot drift apart unnoticed.

const (
	templatePath = "../../template.yaml"
	makefilePath = "../../Makefile"

	functionID = "UpdatePhoneNumberFunction"
	httpAPIID  = "HttpApi"
)

// deployment is one way the stack can be deployed. Every Fn::If in the template chooses between a
// table the stack creates and an existing table named by a parameter (or, for tracing, between
// two settings), so parsing with the first branch of every Fn::If and then with the second covers
// both.
type deployment struct {
	name string
	// branch is the index in [condition, ifTrue, ifFalse] that every Fn::If resolves to.
	branch int
	// tables holds what the function's configuration must name for each table: a table
	// resource's logical id, or a table-name parameter.
	tables dynamostore.Tables
}

var deployments = []deployment{
	{
		name:   "stack creates the tables",
		branch: 1,
		tables: dynamostore.Tables{APIKeys: "ApiKeysTable", Campaigns: "CampaignsTable", PhoneNumbers: "PhoneNumbersTable"},
	},
	{
		name:   "stack uses existing tables",
		branch: 2,
		tables: dynamostore.Tables{APIKeys: "ApiKeysTableName", Campaigns: "CampaignsTableName", PhoneNumbers: "PhoneNumbersTableName"},
	},
}

// tableResources are the logical ids of the table resources, in the order of
// dynamostore.CreateTableInputs.
var tableResources = dynamostore.Tables{APIKeys: "ApiKeysTable", Campaigns: "CampaignsTable", PhoneNumbers: "PhoneNumbersTable"}

// goformationUnknown lists, per resource type, the valid SAM properties the template uses that
// goformation v7.14.9's schema lacks (its Function has no LoggingConfig; its HttpApi spells
// AccessLogSettings in the singular). goformation refuses unknown properties, so parseTemplate
// removes these before decoding; cfn-lint checks them.
var goformationUnknown = map[string][]string{
	"AWS::Serverless::Function": {"LoggingConfig"},
	"AWS::Serverless::HttpApi":  {"AccessLogSettings"},
}

// parseTemplate parses template.yaml with goformation, with every Fn::If resolved to its
// branch-th element and every Ref resolved to the logical id or parameter name it refers to
// (goformation's own handler resolves a Ref to a resource to nothing), except that a Number
// parameter resolves to its default, since goformation decodes it into an int, and AWS::NoValue
// to nothing. Every Fn::GetAtt resolves to "LogicalID.Attribute".
func parseTemplate(t *testing.T, branch int) *cloudformation.Template {
	t.Helper()
	// goformation's YAML processing writes package state, so parallel tests parse one at a time.
	parseMu.Lock()
	defer parseMu.Unlock()
	source, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatalf("read %s: %v", templatePath, err)
	}
	processed, err := intrinsics.ProcessYAML(source, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": func(_ string, input, template any) any {
				name, _ := input.(string)
				if p := parameter(template, name); p != nil && p["Type"] == "Number" {
					return p["Default"]
				}
				if name == "AWS::NoValue" {
					return nil
				}
				return name
			},
			"Fn::GetAtt": func(_ string, input, _ any) any {
				if parts, ok := input.([]any); ok {
					names := make([]string, len(parts))
					for i, p := range parts {
						names[i] = fmt.Sprint(p)
					}
					return strings.Join(names, ".")
				}
				return input
			},
			"Fn::If": func(_ string, input, _ any) any {
				args, ok := input.([]any)
				if !ok || len(args) != 3 {
					return nil
				}
				return args[branch]
			},
		},
	})
	if err != nil {
		t.Fatalf("process %s: %v", templatePath, err)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	var raw map[string]any
	if err := json.Unmarshal(processed, &raw); err != nil {
		t.Fatalf("decode processed %s: %v", templatePath, err)
	}
	if err := json.Unmarshal(processed, &doc); err != nil {
		t.Fatalf("decode processed %s: %v", templatePath, err)
	}
	resources, _ := raw["Resources"].(map[string]any)
	for id, r := range doc.Resources {
		for _, prop := range goformationUnknown[r.Type] {
			if props, ok := resources[id].(map[string]any)["Properties"].(map[string]any); ok {
				delete(props, prop)
			}
		}
	}
	stripped, err := json.Marshal(raw)
	if err != nil {
		t.Fatalf("encode processed %s: %v", templatePath, err)
	}
	tmpl, err := goformation.ParseJSONWithOptions(stripped, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("parse %s: %v", templatePath, err)
	}
	return tmpl
}

var parseMu sync.Mutex

// parameter returns the declaration of the template parameter name, or nil.
func parameter(template any, name string) map[string]any {
	root, _ := template.(map[string]any)
	params, _ := root["Parameters"].(map[string]any)
	p, _ := params[name].(map[string]any)
	return p
}

func function(t *testing.T, tmpl *cloudformation.Template) *serverless.Function {
	t.Helper()
	fn, err := tmpl.GetServerlessFunctionWithName(functionID)
	if err != nil {
		t.Fatalf("template has no AWS::Serverless::Function %s: %v", functionID, err)
	}
	return fn
}

// globalFunction returns Globals.Function. goformation does not merge Globals into functions, so
// each check reads the function's own value and falls back to this one, as SAM does.
func globalFunction(t *testing.T, tmpl *cloudformation.Template) *global.Function {
	t.Helper()
	g, err := tmpl.GetServerlessGlobalFunction()
	if err != nil {
		return &global.Function{}
	}
	return g
}

func TestTemplateServesOnlyTheRouteTheCodeServes(t *testing.T) {
	t.Parallel()
	tmpl := parseTemplate(t, 1)

	type route struct{ function, event, routeKey, apiID, payloadFormat string }
	var routes []route
	for fnID, fn := range tmpl.GetAllServerlessFunctionResources() {
		for eventID, event := range fn.Events {
			switch {
			case event.Type == "HttpApi" && event.Properties != nil && event.Properties.HttpApiEvent != nil:
				e := event.Properties.HttpApiEvent
				routes = append(routes, route{fnID, eventID, deref(e.Method) + " " + deref(e.Path), deref(e.ApiId), deref(e.PayloadFormatVersion)})
			case event.Type == "HttpApi" || event.Type == "Api":
				routes = append(routes, route{function: fnID, event: eventID, routeKey: "unreadable " + event.Type + " event"})
			}
		}
	}
	if len(routes) != 1 {
		t.Fatalf("got %d API routes %+v, want exactly one", len(routes), routes)
	}
	got := routes[0]
	if apis := tmpl.GetAllServerlessHttpApiResources(); len(apis) != 1 || apis[httpAPIID] == nil {
		t.Errorf("got AWS::Serverless::HttpApi resources %v, want exactly %s", slices.Sorted(maps.Keys(apis)), httpAPIID)
	} else if apis[httpAPIID].DefinitionBody != nil || apis[httpAPIID].DefinitionUri != nil {
		t.Errorf("%s has an OpenAPI definition, which may declare routes this test does not see", httpAPIID)
	}

	tests := []struct {
		name      string
		got, want string
	}{
		{"the route is served by the function", got.function, functionID},
		{"the route key is the one the code serves", got.routeKey, localapi.RouteKey},
		{"the route is on the HTTP API", got.apiID, httpAPIID},
		{"the payload format is 2.0", got.payloadFormat, "2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestTemplateRunsTheFunctionAsBuilt(t *testing.T) {
	t.Parallel()
	tmpl := parseTemplate(t, 1)
	fn, g := function(t, tmpl), globalFunction(t, tmpl)

	runtime := deref(orGlobal(fn.Runtime, g.Runtime))
	architectures := fn.Architectures
	if architectures == nil && g.Architectures != nil {
		architectures = *g.Architectures
	}
	var timeout string
	if v := orGlobal(fn.Timeout, g.Timeout); v != nil {
		timeout = fmt.Sprint(time.Duration(*v) * time.Second)
	}
	buildMethod, _ := fn.AWSCloudFormationMetadata["BuildMethod"].(string)
	makefile, err := os.ReadFile(makefilePath)
	if err != nil {
		t.Fatalf("read %s: %v", makefilePath, err)
	}
	// sam build with BuildMethod makefile runs the target build-<logical id>.
	buildTarget := regexp.MustCompile(`(?m)^build-` + functionID + `:`).Match(makefile)

	tests := []struct {
		name      string
		got, want any
	}{
		{"runs on the provided.al2023 OS-only runtime", runtime, "provided.al2023"},
		{"runs on arm64, the architecture make build targets", architectures, []string{"arm64"}},
		{"runs the bootstrap executable", deref(orGlobal(fn.Handler, g.Handler)), "bootstrap"},
		{"is built by the Makefile", buildMethod, "makefile"},
		{"the Makefile has the target sam build runs", buildTarget, true},
		{"times out when the local server does (localconfig.FunctionTimeout)", timeout, localconfig.FunctionTimeout.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestTemplateSetsEveryVariableTheFunctionReads(t *testing.T) {
	t.Parallel()
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			tmpl := parseTemplate(t, d.branch)
			fn, g := function(t, tmpl), globalFunction(t, tmpl)
			env := map[string]string{}
			if g.Environment != nil {
				for k, v := range g.Environment.Variables {
					env[k] = v
				}
			}
			if fn.Environment != nil {
				for k, v := range fn.Environment.Variables {
					env[k] = v
				}
			}
			// Every variable main.go and dynamostore.TablesFromEnv read, and what it must name.
			tests := []struct {
				name, variable, want string
			}{
				{"names the api keys table", dynamostore.EnvAPIKeysTable, d.tables.APIKeys},
				{"names the campaigns table", dynamostore.EnvCampaignsTable, d.tables.Campaigns},
				{"names the phone numbers table", dynamostore.EnvPhoneNumbersTable, d.tables.PhoneNumbers},
				{"sets the log level from the LogLevel parameter", "LOG_LEVEL", "LogLevel"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, ok := env[tt.variable]
					if !ok {
						t.Fatalf("%s is not set", tt.variable)
					}
					if got != tt.want {
						t.Errorf("%s: got %q, want %q", tt.variable, got, tt.want)
					}
				})
			}
		})
	}
}

func TestTemplateTablesMatchTheStore(t *testing.T) {
	t.Parallel()
	tmpl := parseTemplate(t, 1)
	for _, in := range dynamostore.CreateTableInputs(tableResources) {
		id := deref(in.TableName)
		t.Run(id, func(t *testing.T) {
			table, err := tmpl.GetDynamoDBTableWithName(id)
			if err != nil {
				t.Fatalf("template has no AWS::DynamoDB::Table %s: %v", id, err)
			}
			var wantKeys, gotKeys, wantAttrs, gotAttrs []string
			for _, k := range in.KeySchema {
				wantKeys = append(wantKeys, deref(k.AttributeName)+" "+string(k.KeyType))
			}
			for _, k := range table.KeySchema {
				gotKeys = append(gotKeys, k.AttributeName+" "+k.KeyType)
			}
			for _, a := range in.AttributeDefinitions {
				wantAttrs = append(wantAttrs, deref(a.AttributeName)+" "+string(a.AttributeType))
			}
			for _, a := range table.AttributeDefinitions {
				gotAttrs = append(gotAttrs, a.AttributeName+" "+a.AttributeType)
			}
			sort.Strings(wantAttrs)
			sort.Strings(gotAttrs)

			tests := []struct {
				name      string
				got, want any
			}{
				{"has the store's key schema", gotKeys, wantKeys},
				{"defines exactly the key attributes", gotAttrs, wantAttrs},
				{"bills per request", deref(table.BillingMode), string(in.BillingMode)},
				{"has point-in-time recovery", table.PointInTimeRecoverySpecification != nil && deref(table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled), true},
				{"is encrypted at rest", table.SSESpecification != nil && table.SSESpecification.SSEEnabled, true},
				{"has deletion protection", deref(table.DeletionProtectionEnabled), true},
				{"is retained when the stack deletes it", string(table.AWSCloudFormationDeletionPolicy), "Retain"},
				{"is retained when an update replaces it", string(table.AWSCloudFormationUpdateReplacePolicy), "Retain"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if !reflect.DeepEqual(tt.got, tt.want) {
						t.Errorf("got %v, want %v", tt.got, tt.want)
					}
				})
			}
		})
	}
	if got, want := len(tmpl.GetAllDynamoDBTableResources()), 3; got != want {
		t.Errorf("got %d tables in the template, want %d (one per dynamostore.CreateTableInputs entry)", got, want)
	}
}

// wantTableActions is what the function does on each table (dynamostore.Store): it reads keys
// and campaigns, checks a campaign inside the attach's transaction, and reads and conditionally
// updates phone numbers. When the store starts calling another operation, dynamostore.API gains a
// method, the union check below fails, and this table, actionsOf and template.yaml are updated
// together.
var wantTableActions = map[string][]string{
	"APIKeys":      {"GetItem"},
	"Campaigns":    {"ConditionCheckItem", "GetItem"},
	"PhoneNumbers": {"GetItem", "UpdateItem"},
}

// actionsOf is the IAM actions each method of dynamostore.API needs: its own, except for
// TransactWriteItems, which has none and needs those of the items the store puts in it (a
// ConditionCheck and an Update).
var actionsOf = map[string][]string{
	"GetItem":            {"GetItem"},
	"UpdateItem":         {"UpdateItem"},
	"TransactWriteItems": {"ConditionCheckItem", "UpdateItem"},
}

func TestTemplateGrantsExactlyTheOperationsTheStoreCalls(t *testing.T) {
	t.Parallel()

	// The union of the per-table expectations must be the actions the methods of dynamostore.API,
	// the DynamoDB operations the code can call, need.
	apiType := reflect.TypeFor[dynamostore.API]()
	var methods []string
	for i := range apiType.NumMethod() {
		actions, ok := actionsOf[apiType.Method(i).Name]
		if !ok {
			t.Fatalf("dynamostore.API has the method %s, which actionsOf does not map to IAM actions", apiType.Method(i).Name)
		}
		for _, a := range actions {
			if !slices.Contains(methods, a) {
				methods = append(methods, a)
			}
		}
	}
	sort.Strings(methods)
	var union []string
	for _, actions := range wantTableActions {
		for _, a := range actions {
			if !slices.Contains(union, a) {
				union = append(union, a)
			}
		}
	}
	sort.Strings(union)
	t.Run("the expected actions are those the operations of dynamostore.API need", func(t *testing.T) {
		if !slices.Equal(union, methods) {
			t.Errorf("got actions %v across tables, want those of the methods of dynamostore.API %v", union, methods)
		}
	})

	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			tmpl := parseTemplate(t, d.branch)
			statements := policyStatements(t, functionRole(t, tmpl))

			tableOf := map[string]string{} // resource ARN to dynamostore.Tables field
			for _, field := range []string{"APIKeys", "Campaigns", "PhoneNumbers"} {
				name := reflect.ValueOf(d.tables).FieldByName(field).String()
				tableOf["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"+name] = field
			}
			granted := map[string][]string{}
			for i, s := range statements {
				where := fmt.Sprintf("statement %d (%v)", i, s["Sid"])
				if effect := s["Effect"]; effect != "Allow" {
					t.Errorf("%s: got Effect %v, want Allow", where, effect)
				}
				for _, key := range []string{"NotAction", "NotResource", "Condition"} {
					if _, ok := s[key]; ok {
						t.Errorf("%s: has %s; want plain Action and Resource", where, key)
					}
				}
				actions := stringList(s["Action"])
				resources := stringList(s["Resource"])
				if len(actions) == 0 || len(resources) == 0 {
					t.Errorf("%s: got actions %v on resources %v, want at least one of each", where, actions, resources)
				}
				for _, r := range resources {
					field, ok := tableOf[r]
					if !ok {
						t.Errorf("%s: grants on %q, want only the function's three table ARNs (no wildcard, no index)", where, r)
						continue
					}
					for _, a := range actions {
						op, isDynamo := strings.CutPrefix(a, "dynamodb:")
						if !isDynamo || strings.ContainsAny(op, "*?") {
							t.Errorf("%s: grants %q, want explicit dynamodb: actions without wildcards", where, a)
							continue
						}
						if !slices.Contains(granted[field], op) {
							granted[field] = append(granted[field], op)
						}
					}
				}
			}
			for field, want := range wantTableActions {
				t.Run(field+" table", func(t *testing.T) {
					got := slices.Sorted(slices.Values(granted[field]))
					if !slices.Equal(got, want) {
						t.Errorf("got actions %v, want exactly %v", got, want)
					}
				})
			}
		})
	}
}

// functionRole returns the IAM role the function runs with, which must be defined in this
// template: a role from elsewhere would hold permissions this test cannot see.
func functionRole(t *testing.T, tmpl *cloudformation.Template) *iam.Role {
	t.Helper()
	fn := function(t, tmpl)
	if fn.Policies != nil {
		t.Errorf("function has Policies, which SAM ignores when Role is set; put the statements in the role")
	}
	roleID, isGetAttArn := strings.CutSuffix(deref(fn.Role), ".Arn")
	if !isGetAttArn {
		t.Fatalf("function Role is %q; want !GetAtt <role in this template>.Arn", deref(fn.Role))
	}
	role, err := tmpl.GetIAMRoleWithName(roleID)
	if err != nil {
		t.Fatalf("function Role names %s, which is not an AWS::IAM::Role of this template: %v", roleID, err)
	}
	return role
}

// allowedManagedPolicies are the AWS managed policies the function's role may have: neither
// grants any DynamoDB action. The X-Ray one is conditional (TestTemplateAttachesXRayOnlyWhenTracing).
var allowedManagedPolicies = []string{
	"service-role/AWSLambdaBasicExecutionRole",
	"AWSXrayWriteOnlyAccess",
}

// policyStatements returns the statements of the role's inline policies. It fails the test on a
// managed policy other than allowedManagedPolicies: AmazonDynamoDBFullAccess and the like grant
// actions the code never calls, on every table.
func policyStatements(t *testing.T, role *iam.Role) []map[string]any {
	t.Helper()
	for _, arn := range role.ManagedPolicyArns {
		if arn == "" { // an Fn::If branch of AWS::NoValue
			continue
		}
		_, name, _ := strings.Cut(arn, ":policy/")
		if !slices.Contains(allowedManagedPolicies, name) {
			t.Errorf("role has the managed policy %q; want only %v and inline statements", arn, allowedManagedPolicies)
		}
	}
	if len(role.Policies) == 0 {
		t.Fatal("role has no inline policies, so the function cannot reach its tables")
	}
	var statements []map[string]any
	for i, p := range role.Policies {
		doc, _ := p.PolicyDocument.(map[string]any)
		list, _ := doc["Statement"].([]any)
		if len(list) == 0 {
			t.Errorf("Policies[%d] (%s) has no statements", i, p.PolicyName)
		}
		for j, s := range list {
			m, ok := s.(map[string]any)
			if !ok {
				t.Errorf("Policies[%d].Statement[%d] is %T, want an object", i, j, s)
				continue
			}
			statements = append(statements, m)
		}
	}
	return statements
}

// stringList reads an IAM element that may be one string or a list of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return append(out, fmt.Sprintf("<non-string %T>", e))
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

func orGlobal[T any](own, global *T) *T {
	if own != nil {
		return own
	}
	return global
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
