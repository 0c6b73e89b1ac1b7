package rehearsal

import (
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/sms-platform/phone-numbers/local/engine"
)

func TestEvaluateDecidesAsIAMDoes(t *testing.T) {
	t.Parallel()
	const table = "arn:aws:dynamodb:us-east-1:123456789012:table/numbers"
	statements, err := parsePolicy(`{"Version":"2012-10-17","Statement":[
	  {"Sid":"Read","Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query"],"Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/numbers"},
	  {"Sid":"WriteAny","Effect":"Allow","Action":"dynamodb:Put*","Resource":"arn:aws:dynamodb:*:*:table/*"},
	  {"Sid":"NoDeletes","Effect":"Deny","Action":"dynamodb:DeleteItem","Resource":"*"},
	  {"Sid":"Sometimes","Effect":"Allow","Action":"dynamodb:UpdateItem","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
	  {"Sid":"Everything","Effect":"Allow","Action":"dynamodb:DeleteItem","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		action, resource string
		allowed          bool
		by               string
	}{
		{"dynamodb:GetItem", table, true, "Read"},
		{"DynamoDB:getitem", table, true, "Read"}, // actions are case-insensitive
		{"dynamodb:GetItem", table + "-other", false, ""},
		{"dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/NUMBERS", false, ""}, // resources are not
		{"dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:1:table/x", true, "WriteAny"},
		{"dynamodb:DeleteItem", table, false, "NoDeletes"}, // an explicit deny beats an allow
		{"dynamodb:UpdateItem", table, false, ""},          // a conditional allow is not counted
		{"dynamodb:Scan", table, false, ""},
	}
	for _, tt := range tests {
		allowed, by := evaluate(statements, tt.action, tt.resource)
		if allowed != tt.allowed || by != tt.by {
			t.Errorf("%s on %s: got %v by %q, want %v by %q", tt.action, tt.resource, allowed, by, tt.allowed, tt.by)
		}
	}
}

func TestRequiredActionsNamePerItemActionsOfTransactions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		operation, body string
		want            [][2]string
	}{
		{"GetItem", `{"TableName":"keys","Key":{}}`, [][2]string{{"dynamodb:GetItem", "keys"}}},
		{"UpdateItem", `{"TableName":"numbers"}`, [][2]string{{"dynamodb:UpdateItem", "numbers"}}},
		{"TransactWriteItems", `{"TransactItems":[{"Update":{"TableName":"numbers"}},{"ConditionCheck":{"TableName":"campaigns"}}]}`,
			[][2]string{{"dynamodb:ConditionCheckItem", "campaigns"}, {"dynamodb:UpdateItem", "numbers"}}},
		{"TransactGetItems", `{"TransactItems":[{"Get":{"TableName":"a"}}]}`, [][2]string{{"dynamodb:GetItem", "a"}}},
		{"BatchGetItem", `{"RequestItems":{"a":{},"b":{}}}`, [][2]string{{"dynamodb:BatchGetItem", "a"}, {"dynamodb:BatchGetItem", "b"}}},
	}
	for _, tt := range tests {
		got, err := requiredActions(tt.operation, []byte(tt.body))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s: got %v, %v; want %v", tt.operation, tt.body, got, err, tt.want)
		}
	}
}

func TestPolicyDocumentReadsWhatIAMAndMotoReturn(t *testing.T) {
	t.Parallel()
	const doc = `{"Statement": [{"Effect": "Allow"}]}`
	tests := []struct {
		name, in  string
		wantQuirk bool
	}{
		{"JSON", doc, false},
		{"URL-encoded, as IAM returns it", "%7B%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%7D%5D%7D", false},
		{"Python's repr, as moto 5.2.1 returns it", strings.ReplaceAll(doc, `"`, "'"), true},
	}
	for _, tt := range tests {
		got, quirk := policyDocument(tt.in)
		if got != doc || (quirk != "") != tt.wantQuirk {
			t.Errorf("%s: got %q with quirk %q", tt.name, got, quirk)
		}
	}
}

func TestAdaptForMotoChangesOnlyPermissionsOnAliases(t *testing.T) {
	t.Parallel()
	tmpl := Template{"Resources": map[string]any{
		"Fn":    map[string]any{"Type": "AWS::Lambda::Function"},
		"Alias": map[string]any{"Type": "AWS::Lambda::Alias", "Properties": map[string]any{"FunctionName": map[string]any{"Ref": "Fn"}}},
		"OnAlias": map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
			"FunctionName": map[string]any{"Ref": "Alias"}}},
		"OnFunction": map[string]any{"Type": "AWS::Lambda::Permission", "Properties": map[string]any{
			"FunctionName": map[string]any{"Ref": "Fn"}}},
	}}
	done := adaptForMoto(tmpl)
	if len(done) != 1 || done[0].Resource != "OnAlias" || done[0].Reason == "" {
		t.Fatalf("got %v, want one adaptation of OnAlias with its reason", done)
	}
	got := properties(tmpl.resources()["OnAlias"])["FunctionName"]
	if want := map[string]any{"Fn::GetAtt": []any{"Fn", "Arn"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("OnAlias FunctionName: got %v, want %v", got, want)
	}
	if got := properties(tmpl.resources()["OnFunction"])["FunctionName"]; !reflect.DeepEqual(got, map[string]any{"Ref": "Fn"}) {
		t.Errorf("OnFunction changed: %v", got)
	}
}

func TestCreatedResourcesFollowConditions(t *testing.T) {
	t.Parallel()
	tmpl := Template{
		"Parameters": map[string]any{"TableName": map[string]any{"Type": "String", "Default": ""}, "Flag": map[string]any{"Default": "true"}},
		"Conditions": map[string]any{
			"CreateTable": map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "TableName"}, ""}},
			"Both":        map[string]any{"Fn::And": []any{map[string]any{"Condition": "CreateTable"}, map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "Flag"}, "true"}}}},
			"Neither":     map[string]any{"Fn::Not": []any{map[string]any{"Condition": "Both"}}},
		},
		"Resources": map[string]any{
			"Always": map[string]any{"Type": "T"},
			"Table":  map[string]any{"Type": "T", "Condition": "CreateTable"},
			"Extra":  map[string]any{"Type": "T", "Condition": "Both"},
			"Other":  map[string]any{"Type": "T", "Condition": "Neither"},
		},
	}
	for _, tt := range []struct {
		params map[string]string
		want   []string
	}{
		{nil, []string{"Always", "Extra", "Table"}},
		{map[string]string{"TableName": "existing"}, []string{"Always", "Other"}},
		{map[string]string{"Flag": "false"}, []string{"Always", "Other", "Table"}},
	} {
		got, err := createdResources(tmpl, tt.params)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("params %v: got %v, %v; want %v", tt.params, got, err, tt.want)
		}
	}
}

// TestBuildTargetNeedsArtifactsDir: the target sam build runs refuses to run without the
// ARTIFACTS_DIR sam build sets, instead of writing /bootstrap. make -n expands the recipe, which
// is where the refusal is, without building anything.
func TestBuildTargetNeedsArtifactsDir(t *testing.T) {
	t.Parallel()
	makeCmd, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed")
	}
	root, err := engine.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) (string, error) {
		cmd := exec.Command(makeCmd, append([]string{"--no-print-directory", "-n", "build-" + functionLogicalID}, extra...)...)
		cmd.Dir = root
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "ARTIFACTS_DIR=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run()
	if err == nil || !strings.Contains(out, "ARTIFACTS_DIR is not set") || strings.Contains(out, "go build") {
		t.Errorf("without ARTIFACTS_DIR: got %v and\n%s\nwant a refusal naming ARTIFACTS_DIR, and no build", err, out)
	}
	dir := t.TempDir()
	out, err = run("ARTIFACTS_DIR=" + dir)
	if err != nil || !strings.Contains(out, "GOARCH=arm64") || !strings.Contains(out, `-o "`+dir+`/bootstrap"`) {
		t.Errorf("with ARTIFACTS_DIR: got %v and\n%s\nwant an arm64 build into %s/bootstrap", err, out, dir)
	}
}
