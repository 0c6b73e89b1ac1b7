package rehearsal

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/local/cfn"
	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
	"github.com/sms-platform/phone-numbers/local/rie"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// modelledElsewhere are the resource types of the expanded template that moto 5.2.1 does not
// model in CloudFormation: they may be placeholders. Any other placeholder fails the test, so a
// resource that silently stops existing is noticed.
var modelledElsewhere = []string{
	"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage", "AWS::CloudWatch::Alarm",
	"AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup", "AWS::Lambda::Alias",
}

// prepared returns a rehearsal that has built the function, started moto and uploaded the
// package, writing its report to out. It skips the test when moto_server or the SAM translator is
// missing, and fails it instead under CI=true.
func prepared(t *testing.T, out *enginetest.LockedBuffer) *Rehearsal {
	t.Helper()
	root, err := engine.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH")
	}
	rieBin, err := rie.Installed(root, goCmd)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := New(ctx, Options{Root: root, RIE: rieBin, Out: out})
	switch {
	case errors.Is(err, engine.ErrMotoUnavailable), errors.Is(err, ErrTranslatorUnavailable):
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true requires the deploy rehearsal, but: %v", err)
		}
		t.Skipf("deploy rehearsal skipped: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if err := r.Prepare(ctx); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return r
}

// TestDeployRehearsal runs make deploy-rehearsal's whole path and checks what each step found;
// then, on the same engine, it deploys templates with the mismatches the rehearsal exists to catch
// and checks that each one is caught.
func TestDeployRehearsal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function twice, starts moto and the Lambda emulator; skipped with -short")
	}
	var out enginetest.LockedBuffer
	r := prepared(t, &out)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := r.Rehearse(ctx)
	t.Logf("report:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the stack is created, with the alias permission adapted out loud", func(t *testing.T) {
		s := rep.Created.Stack
		if s.Status != "CREATE_COMPLETE" {
			t.Fatalf("got %s, want CREATE_COMPLETE", s.Outcome())
		}
		if len(s.Adaptations) != 1 || s.Adaptations[0].Property != "FunctionName" || s.Expanded.resourceType(s.Adaptations[0].Resource) != "AWS::Lambda::Permission" {
			t.Errorf("adaptations: got %v, want the one Lambda::Permission FunctionName", s.Adaptations)
		}
		for _, a := range s.Adaptations {
			if !strings.Contains(out.String(), a.String()) {
				t.Errorf("adaptation %q was not printed", a)
			}
		}
		for _, p := range s.Placeholders {
			if !slices.Contains(modelledElsewhere, s.Expanded.resourceType(p)) {
				t.Errorf("%s (%s) is a placeholder, but moto models its type: it failed to exist", p, s.Expanded.resourceType(p))
			}
		}
		// The shipped template is untouched: the expanded permission names the alias there.
		root, _ := engine.RepoRoot()
		src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "AutoPublishAlias: live") {
			t.Errorf("template.yaml lost its alias")
		}
	})

	// What SAM made of the release settings, in the template the engine received.
	t.Run("SAM routes the API to the alias, rolls back on the alarms, adds no X-Ray permission", func(t *testing.T) {
		exp := rep.Created.Stack.Expanded
		api := jsonText(exp.resources()["HttpApi"])
		if !strings.Contains(api, "${UpdatePhoneNumberFunctionAliaslive}/invocations") {
			t.Errorf("the HTTP API's integration does not invoke the live alias: %s", api)
		}
		group := properties(exp.resources()["UpdatePhoneNumberFunctionDeploymentGroup"])
		var alarms []string
		for _, a := range group["AlarmConfiguration"].(map[string]any)["Alarms"].([]any) {
			name, _ := refName(a.(map[string]any)["Name"])
			alarms = append(alarms, name)
		}
		wantAlarms := []string{"FunctionErrorsAlarm", "FunctionThrottlesAlarm", "FunctionServerErrorRateAlarm", "FunctionDurationP99Alarm"}
		if !slices.Equal(alarms, wantAlarms) || !strings.Contains(jsonText(group["AutoRollbackConfiguration"]), "DEPLOYMENT_STOP_ON_ALARM") {
			t.Errorf("deployment group: alarms %v, rollback %v; want %v and a rollback on alarm", alarms, group["AutoRollbackConfiguration"], wantAlarms)
		}
		if got := jsonText(group["DeploymentConfigName"]); !strings.Contains(got, "Canary10Percent5Minutes") {
			t.Errorf("deployment config: got %s, want the default canary", got)
		}
		// SAM's generated role would carry AWSXrayWriteOnlyAccess whatever TracingEnabled says;
		// the template's own role has it only under IsTracingEnabled, and SAM adds none.
		role := jsonText(properties(exp.resources()["UpdatePhoneNumberFunctionRole"])["ManagedPolicyArns"])
		all := jsonText(exp["Resources"])
		if strings.Count(all, "AWSXrayWriteOnlyAccess") != 1 || !strings.Contains(role, `{"Fn::If":["IsTracingEnabled",{"Fn::Sub":"arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}`) {
			t.Errorf("X-Ray permission: role has %s; want it once, under IsTracingEnabled", role)
		}
	})

	t.Run("the function reads the stack's tables and serves a PATCH with the role's permissions", func(t *testing.T) {
		d := rep.Created
		tables, _ := outputTables(d.Stack)
		if d.Function == nil || d.Function.Tables != tables {
			t.Fatalf("function tables %+v, want the outputs' %+v", d.Function, tables)
		}
		if d.Served == nil || d.Served.Status != 200 {
			t.Fatalf("PATCH: got %+v, want 200", d.Served)
		}
		want := []string{"dynamodb:GetItem on " + tables.APIKeys, "dynamodb:UpdateItem on " + tables.PhoneNumbers}
		var got []string
		for _, c := range d.Served.Calls {
			got = append(got, c.Action+" on "+c.Table)
			if !c.Allowed {
				t.Errorf("call %s was denied", c)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("calls: got %v, want %v", got, want)
		}
		if d.Served.Stored["inbound_url"] != "https://customer.example/v2/inbound" {
			t.Errorf("stored number: got %v, want the PATCH's inbound_url", d.Served.Stored)
		}
		if len(d.Served.Metrics) != 4 {
			t.Errorf("metrics: got %v, want duration and storage calls per function and per outcome", d.Served.Metrics)
		}
	})

	t.Run("an update reaches the function", func(t *testing.T) {
		if rep.Updated.Status != "UPDATE_COMPLETE" || rep.UpdatedLogLevel != "DEBUG" {
			t.Errorf("got %s with LOG_LEVEL %q, want UPDATE_COMPLETE with DEBUG", rep.Updated.Outcome(), rep.UpdatedLogLevel)
		}
	})

	t.Run("deleting the stack retains exactly the tables", func(t *testing.T) {
		tables, _ := outputTables(rep.Created.Stack)
		want := []string{"ApiKeysTable " + tables.APIKeys, "CampaignsTable " + tables.Campaigns, "PhoneNumbersTable " + tables.PhoneNumbers}
		if !slices.Equal(rep.Retained, want) {
			t.Errorf("retained: got %v, want %v", rep.Retained, want)
		}
		for _, id := range []string{functionLogicalID, "UpdatePhoneNumberFunctionRole", "UpdatePhoneNumberLogGroup", "HttpApiAccessLogGroup", "Dashboard"} {
			if !slices.ContainsFunc(rep.Deleted, func(e string) bool { return strings.HasPrefix(e, id+" ") }) {
				t.Errorf("deleted: got %v, want %s among them", rep.Deleted, id)
			}
		}
	})

	t.Run("re-creating collides with the retained tables; adopting them works", func(t *testing.T) {
		if rep.Collision.Succeeded() || !strings.Contains(rep.Collision.Reason, "already exists") {
			t.Errorf("re-create: got %s, want a failure because the table already exists", rep.Collision.Outcome())
		}
		a := rep.Adopted
		if a == nil || a.Stack.Status != "CREATE_COMPLETE" || a.Served == nil || a.Served.Status != 200 {
			t.Fatalf("adopt: got %+v, want CREATE_COMPLETE and a 200", a)
		}
		for id, res := range a.Stack.Resources {
			if res.Type == "AWS::DynamoDB::Table" {
				t.Errorf("the adopting stack made table %s", id)
			}
		}
		if !rep.DataSurvived {
			t.Error("the first PATCH's change did not survive in the retained table")
		}
		if _, cleared := a.Served.Stored["label"]; cleared {
			t.Errorf("after clear-field.json the stored label is %v, want it removed", a.Served.Stored["label"])
		}
	})

	if len(rep.Mismatches) > 0 {
		t.Errorf("mismatches: %v", rep.Mismatches)
	}

	// The mismatches the rehearsal exists to find, each made in the template as a developer
	// might, and each caught.
	root, _ := engine.RepoRoot()
	src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mutations := []struct {
		name   string
		mutate func(t *testing.T, tmpl Template)
		want   []string // every one must appear in some mismatch
	}{
		{"a table key the store does not use", func(t *testing.T, tmpl Template) {
			props := properties(tmpl.resources()["PhoneNumbersTable"])
			props["KeySchema"] = []any{map[string]any{"AttributeName": "number_id", "KeyType": "HASH"}}
			props["AttributeDefinitions"] = []any{map[string]any{"AttributeName": "number_id", "AttributeType": "S"}}
		}, []string{"key schema [number_id HASH]", "the store expects [" + dynamostore.PhoneNumbersHashKey + " HASH]", "seeding the demo data"}},
		{"an environment variable the function does not read", func(t *testing.T, tmpl Template) {
			vars := properties(tmpl.resources()[functionLogicalID])["Environment"].(map[string]any)["Variables"].(map[string]any)
			vars["PHONE_NUMBER_TABLE"] = vars[dynamostore.EnvPhoneNumbersTable]
			delete(vars, dynamostore.EnvPhoneNumbersTable)
		}, []string{"does not name its tables", dynamostore.EnvPhoneNumbersTable}},
		{"an action the store calls, not granted", func(t *testing.T, tmpl Template) {
			policies := properties(tmpl.resources()["UpdatePhoneNumberFunctionRole"])["Policies"].([]any)
			for _, p := range policies {
				for _, s := range p.(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					st := s.(map[string]any)
					st["Action"] = slices.DeleteFunc(st["Action"].([]any), func(a any) bool { return a == "dynamodb:UpdateItem" })
				}
			}
		}, []string{"called dynamodb:UpdateItem on", "which its role does not allow", "status 500"}},
	}
	for i, m := range mutations {
		t.Run("caught: "+m.name, func(t *testing.T) {
			sam, err := cfn.DecodeYAML(src)
			if err != nil {
				t.Fatal(err)
			}
			m.mutate(t, sam)
			name := "mutation-" + string(rune('a'+i))
			d, err := r.CreateAndServe(ctx, name, sam, nil, firstEvent, false)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			all := strings.Join(d.Mismatches, "\n")
			for _, w := range m.want {
				if !strings.Contains(all, w) {
					t.Errorf("mismatches do not mention %q:\n%s", w, all)
				}
			}
			if d.Stack.ID != "" {
				if _, err := r.deleteStack(ctx, d.Stack); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
