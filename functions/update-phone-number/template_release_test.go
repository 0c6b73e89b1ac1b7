package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sms-platform/phone-numbers/local/cfn"
	"github.com/sms-platform/phone-numbers/local/localapi"
	"github.com/sms-platform/phone-numbers/pkg/apigw"
	"github.com/sms-platform/phone-numbers/pkg/dynamostore"
)

// These tests read template.yaml in CloudFormation's own JSON form (intrinsic functions kept as
// they are written, unlike goformation's resolved view) and check how a release reaches traffic
// and how operators see it: the live alias, the canary and its rollback alarms, the alarms'
// parameters, the dashboard, and the X-Ray permission.

// rawTemplate returns template.yaml as CloudFormation's JSON form, parsed once.
var rawTemplate = sync.OnceValues(func() (map[string]any, error) {
	src, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, err
	}
	return cfn.DecodeYAML(src)
})

func raw(t *testing.T) map[string]any {
	t.Helper()
	tmpl, err := rawTemplate()
	if err != nil {
		t.Fatalf("read %s: %v", templatePath, err)
	}
	return tmpl
}

// object returns v[keys[0]][keys[1]]..., or nil where a member is missing or not an object.
func object(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// resourcesOfType returns the template's resources of type typ, by logical id.
func resourcesOfType(tmpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range object(tmpl, "Resources") {
		if m, _ := r.(map[string]any); m["Type"] == typ {
			out[id] = m
		}
	}
	return out
}

// ref returns the name a {"Ref": name} value refers to, and whether v is one.
func ref(v any) (string, bool) {
	m, _ := v.(map[string]any)
	name, ok := m["Ref"].(string)
	return name, ok && len(m) == 1
}

// rollbackAlarms must roll a release back; wantAlarms must exist (rollback or not), each with
// what it watches.
var rollbackAlarms = []string{"FunctionErrorsAlarm", "FunctionThrottlesAlarm", "FunctionServerErrorRateAlarm", "FunctionDurationP99Alarm"}

func TestTemplateReleasesThroughTheLiveAliasWithAutomaticRollback(t *testing.T) {
	t.Parallel()
	tmpl := raw(t)
	fn := object(tmpl, "Resources", functionID, "Properties")
	if got := fn["AutoPublishAlias"]; got != "live" {
		t.Errorf("AutoPublishAlias: got %v, want live (the alarms and dashboard name the alias)", got)
	}
	pref := object(fn, "DeploymentPreference")
	typeParam, ok := ref(pref["Type"])
	if !ok {
		t.Fatalf("DeploymentPreference.Type is %v; want a Ref to a parameter", pref["Type"])
	}
	if got := object(tmpl, "Parameters", typeParam)["Default"]; got != "Canary10Percent5Minutes" {
		t.Errorf("parameter %s defaults to %v, want Canary10Percent5Minutes", typeParam, got)
	}
	alarms := resourcesOfType(tmpl, "AWS::CloudWatch::Alarm")
	var got []string
	list, _ := pref["Alarms"].([]any)
	for _, a := range list {
		name, ok := ref(a)
		if !ok || alarms[name] == nil {
			t.Errorf("DeploymentPreference.Alarms has %v; want Refs to alarms of this template", a)
			continue
		}
		got = append(got, name)
	}
	if !slices.Equal(got, rollbackAlarms) {
		t.Errorf("rollback alarms: got %v, want %v", got, rollbackAlarms)
	}
	if _, hooks := pref["Hooks"]; hooks {
		t.Errorf("DeploymentPreference has Hooks; this test and the rehearsal know nothing of them")
	}
	// The API integration targets the alias: SAM does that for every event source of a function
	// with AutoPublishAlias (the rehearsal checks it in the expanded template), as long as the
	// route is an event of the function rather than an OpenAPI body naming the function.
	if body := object(tmpl, "Resources", httpAPIID, "Properties")["DefinitionBody"]; body != nil {
		t.Errorf("%s has a DefinitionBody, whose integration would not follow the alias", httpAPIID)
	}
}

func TestTemplateAlarmThresholdsAndPeriodsAreParameters(t *testing.T) {
	t.Parallel()
	tmpl := raw(t)
	params := object(tmpl, "Parameters")
	alarms := resourcesOfType(tmpl, "AWS::CloudWatch::Alarm")
	if len(alarms) < 3 {
		t.Fatalf("got %d alarms, want at least 3", len(alarms))
	}
	names := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(alarms)) {
		props := object(alarms[id], "Properties")
		t.Run(id, func(t *testing.T) {
			for _, prop := range []string{"Threshold", "EvaluationPeriods", "DatapointsToAlarm"} {
				name, ok := ref(props[prop])
				if !ok {
					t.Errorf("%s is %v; want a Ref to a Number parameter", prop, props[prop])
					continue
				}
				if p := object(params, name); p["Type"] != "Number" || p["Default"] == nil || p["Description"] == nil {
					t.Errorf("%s: parameter %s is %v; want a Number with a Default and a Description", prop, name, p)
				}
			}
			for _, period := range periods(props) {
				if name, ok := ref(period); !ok || name != "AlarmPeriodSeconds" {
					t.Errorf("a Period is %v; want Ref AlarmPeriodSeconds", period)
				}
			}
			if props["TreatMissingData"] != "notBreaching" {
				t.Errorf("TreatMissingData: got %v, want notBreaching (no traffic is not an outage)", props["TreatMissingData"])
			}
			if d, _ := props["AlarmDescription"].(string); len(d) < 40 {
				t.Errorf("AlarmDescription %q does not tell an operator what the alarm means", d)
			}
			name, _ := object(props, "AlarmName")["Fn::Sub"].(string)
			if !strings.HasPrefix(name, "${AWS::StackName}-") {
				t.Errorf("AlarmName is %v; want !Sub ${AWS::StackName}-<name>", props["AlarmName"])
			}
			if other, dup := names[name]; dup {
				t.Errorf("AlarmName %q is also %s's", name, other)
			}
			names[name] = id
			for _, actions := range []string{"AlarmActions", "OKActions"} {
				want := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmNotificationTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
				if !reflect.DeepEqual(props[actions], want) {
					t.Errorf("%s: got %v, want the notification topic when one is set", actions, props[actions])
				}
			}
		})
	}
	// An alarm evaluates more periods than it needs to breach.
	for _, p := range []struct{ name string }{{"AlarmEvaluationPeriods"}, {"AlarmDatapointsToAlarm"}} {
		if object(params, p.name) == nil {
			t.Errorf("parameter %s is missing", p.name)
		}
	}
	evaluations, _ := object(params, "AlarmEvaluationPeriods")["Default"].(int)
	datapoints, _ := object(params, "AlarmDatapointsToAlarm")["Default"].(int)
	if datapoints < 1 || datapoints > evaluations {
		t.Errorf("defaults: %d datapoints to alarm out of %d evaluation periods; want 1 <= datapoints <= periods", datapoints, evaluations)
	}
}

// periods returns every Period of an alarm: its own, or each MetricStat's.
func periods(props map[string]any) []any {
	if p, ok := props["Period"]; ok {
		return []any{p}
	}
	var out []any
	metrics, _ := props["Metrics"].([]any)
	for _, m := range metrics {
		if stat := object(m, "MetricStat"); stat != nil {
			out = append(out, stat["Period"])
		}
	}
	return out
}

// metricRef is one metric an alarm reads: namespace, name, dimensions (values as written) and
// statistic.
type metricRef struct {
	namespace, name, stat string
	dims                  map[string]any
}

// alarmMetrics returns the metrics alarm props reads, single-metric or metric-math.
func alarmMetrics(props map[string]any) []metricRef {
	dims := func(list any) map[string]any {
		out := map[string]any{}
		l, _ := list.([]any)
		for _, d := range l {
			m, _ := d.(map[string]any)
			name, _ := m["Name"].(string)
			out[name] = m["Value"]
		}
		return out
	}
	if name, ok := props["MetricName"].(string); ok {
		stat, _ := props["Statistic"].(string)
		if ext, ok := props["ExtendedStatistic"].(string); ok {
			stat = ext
		}
		ns, _ := props["Namespace"].(string)
		return []metricRef{{ns, name, stat, dims(props["Dimensions"])}}
	}
	var out []metricRef
	metrics, _ := props["Metrics"].([]any)
	for _, q := range metrics {
		stat := object(q, "MetricStat")
		if stat == nil {
			continue
		}
		m := object(stat, "Metric")
		ns, _ := m["Namespace"].(string)
		name, _ := m["MetricName"].(string)
		s, _ := stat["Stat"].(string)
		out = append(out, metricRef{ns, name, s, dims(m["Dimensions"])})
	}
	return out
}

// tableName is how the template names each table wherever it uses it: the table the stack
// creates, or the existing one a parameter names.
var tableName = map[string]any{
	"APIKeys":      map[string]any{"Fn::If": []any{"CreateApiKeysTable", map[string]any{"Ref": "ApiKeysTable"}, map[string]any{"Ref": "ApiKeysTableName"}}},
	"Campaigns":    map[string]any{"Fn::If": []any{"CreateCampaignsTable", map[string]any{"Ref": "CampaignsTable"}, map[string]any{"Ref": "CampaignsTableName"}}},
	"PhoneNumbers": map[string]any{"Fn::If": []any{"CreatePhoneNumbersTable", map[string]any{"Ref": "PhoneNumbersTable"}, map[string]any{"Ref": "PhoneNumbersTableName"}}},
}

func TestTemplateAlarmsWatchFunctionAPIAndTables(t *testing.T) {
	t.Parallel()
	tmpl := raw(t)
	alarms := resourcesOfType(tmpl, "AWS::CloudWatch::Alarm")
	read := map[string][]metricRef{}
	for id, a := range alarms {
		read[id] = alarmMetrics(object(a, "Properties"))
	}
	fnName := map[string]any{"Ref": functionID}
	alias := map[string]any{"Fn::Sub": "${" + functionID + "}:live"}
	apiDims := map[string]any{"ApiId": map[string]any{"Ref": httpAPIID}, "Stage": map[string]any{"Ref": "Stage"}, "Route": localapi.RouteKey}

	has := func(id string, want metricRef) bool {
		for _, m := range read[id] {
			if m.namespace == want.namespace && m.name == want.name && m.stat == want.stat && reflect.DeepEqual(m.dims, want.dims) {
				return true
			}
		}
		return false
	}
	tests := []struct {
		name, alarm string
		want        metricRef
	}{
		{"function errors on the live alias", "FunctionErrorsAlarm", metricRef{"AWS/Lambda", "Errors", "Sum", map[string]any{"FunctionName": fnName, "Resource": alias}}},
		{"function throttles on the live alias", "FunctionThrottlesAlarm", metricRef{"AWS/Lambda", "Throttles", "Sum", map[string]any{"FunctionName": fnName, "Resource": alias}}},
		{"the route's 5xx at API Gateway", "Api5xxRateAlarm", metricRef{"AWS/ApiGateway", "5xx", "Sum", apiDims}},
		{"the route's requests at API Gateway, for the 5xx rate", "Api5xxRateAlarm", metricRef{"AWS/ApiGateway", "Count", "Sum", apiDims}},
		{"the route's p99 latency at API Gateway", "ApiLatencyP99Alarm", metricRef{"AWS/ApiGateway", "Latency", "p99", apiDims}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !has(tt.alarm, tt.want) {
				t.Errorf("%s reads %+v; want it to read %+v", tt.alarm, read[tt.alarm], tt.want)
			}
		})
	}

	// Every table has an alarm on its throttle events and on the system errors of every
	// operation the store can call (the methods of dynamostore.API).
	var operations []string
	apiType := reflect.TypeFor[dynamostore.API]()
	for i := range apiType.NumMethod() {
		operations = append(operations, apiType.Method(i).Name)
	}
	for table, name := range tableName {
		t.Run(table+" table", func(t *testing.T) {
			var watching []string
			for id := range alarms {
				var throttles int
				var ops []string
				for _, m := range read[id] {
					if m.namespace != "AWS/DynamoDB" || !reflect.DeepEqual(m.dims["TableName"], name) {
						continue
					}
					switch m.name {
					case "ReadThrottleEvents", "WriteThrottleEvents":
						throttles++
					case "SystemErrors":
						op, _ := m.dims["Operation"].(string)
						ops = append(ops, op)
					}
				}
				if throttles == 0 && ops == nil {
					continue
				}
				watching = append(watching, id)
				slices.Sort(ops)
				if throttles != 2 || !slices.Equal(ops, operations) {
					t.Errorf("%s reads %d throttle metrics and SystemErrors of %v; want ReadThrottleEvents, WriteThrottleEvents and SystemErrors of each of %v",
						id, throttles, ops, operations)
				}
				expr, _ := object(alarms[id], "Properties")["Metrics"].([]any)
				if len(expr) == 0 || !strings.Contains(fmt.Sprint(object(expr[0])["Expression"]), "FILL(") {
					t.Errorf("%s: its first query should add the metrics up with FILL(..., 0), so one quiet series does not blank the sum", id)
				}
			}
			if len(watching) != 1 {
				t.Errorf("alarms on this table: %v; want exactly one", watching)
			}
		})
	}
}

func TestTemplateAttachesXRayOnlyWhenTracing(t *testing.T) {
	t.Parallel()
	tmpl := raw(t)
	if got, want := object(tmpl, "Conditions")["IsTracingEnabled"], map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "TracingEnabled"}, "true"}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("condition IsTracingEnabled: got %v, want %v", got, want)
	}
	fn := object(tmpl, "Resources", functionID, "Properties")
	global := object(tmpl, "Globals", "Function")
	tracing := fn["Tracing"]
	if tracing == nil {
		tracing = global["Tracing"]
	}
	if want := map[string]any{"Fn::If": []any{"IsTracingEnabled", "Active", "PassThrough"}}; !reflect.DeepEqual(tracing, want) {
		t.Errorf("Tracing: got %v, want %v", tracing, want)
	}
	roleID := ""
	if getAtt, ok := object(fn, "Role")["Fn::GetAtt"].([]any); ok && len(getAtt) == 2 {
		roleID, _ = getAtt[0].(string)
	}
	role := object(tmpl, "Resources", roleID)
	if role["Type"] != "AWS::IAM::Role" {
		t.Fatalf("function Role is %v; want !GetAtt of a role in this template: SAM's generated role gets the X-Ray policy whenever Tracing is set, PassThrough included", fn["Role"])
	}
	xray := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}
	conditional := map[string]any{"Fn::If": []any{"IsTracingEnabled", xray, map[string]any{"Ref": "AWS::NoValue"}}}
	arns, _ := object(role, "Properties")["ManagedPolicyArns"].([]any)
	if !slices.ContainsFunc(arns, func(a any) bool { return reflect.DeepEqual(a, conditional) }) {
		t.Errorf("role ManagedPolicyArns %v; want %v among them", arns, conditional)
	}
	// Nowhere else: not unconditionally, not in an inline statement.
	encoded, _ := json.Marshal(tmpl["Resources"])
	if n := strings.Count(strings.ToLower(string(encoded)), "xray"); n != 1 {
		t.Errorf("the resources mention X-Ray %d times; want once, in the conditional managed policy", n)
	}
}

func TestTemplateDashboardShowsTheRouteAndEveryAlarm(t *testing.T) {
	t.Parallel()
	tmpl := raw(t)
	dashboards := resourcesOfType(tmpl, "AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("got %d dashboards, want 1", len(dashboards))
	}
	var body map[string]any
	for _, d := range dashboards {
		body = dashboardBody(t, object(d, "Properties")["DashboardBody"])
	}
	widgets, _ := body["widgets"].([]any)
	var metricsText []string
	var alarmARNs []string
	for _, w := range widgets {
		props := object(w, "properties")
		switch object(w)["type"] {
		case "metric":
			encoded, _ := json.Marshal(props["metrics"])
			metricsText = append(metricsText, fmt.Sprintf("%v: %s", props["title"], encoded))
		case "alarm":
			for _, a := range props["alarms"].([]any) {
				alarmARNs = append(alarmARNs, a.(string))
			}
		}
	}
	all := strings.Join(metricsText, "\n")
	for _, want := range []struct{ what, pattern string }{
		{"request rate", `"AWS/ApiGateway","Count"`},
		{"4xx status class", `"AWS/ApiGateway","4xx"`},
		{"5xx status class", `"AWS/ApiGateway","5xx"`},
		{"latency p50", `"Latency".*"stat":"p50"`},
		{"latency p99", `"stat":"p99"`},
		{"function errors", `"AWS/Lambda","Errors"`},
		{"function throttles", `"AWS/Lambda","Throttles"`},
		{"table throttles", `ReadThrottleEvents`},
		{"table system errors", `SystemErrors`},
	} {
		if !regexp.MustCompile(want.pattern).MatchString(all) {
			t.Errorf("no widget shows the %s (%s)", want.what, want.pattern)
		}
	}
	// The alarm widget lists every alarm, by the name the template gives it.
	var wantARNs []string
	for _, a := range resourcesOfType(tmpl, "AWS::CloudWatch::Alarm") {
		name := object(a, "Properties", "AlarmName")["Fn::Sub"].(string)
		wantARNs = append(wantARNs, "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"+name)
	}
	slices.Sort(wantARNs)
	slices.Sort(alarmARNs)
	if !slices.Equal(alarmARNs, wantARNs) {
		t.Errorf("alarm widget lists\n%v\nwant every alarm\n%v", alarmARNs, wantARNs)
	}
}

// dashboardBody returns a DashboardBody written as !Sub [text, variables] parsed as JSON, with
// each variable of the map and each ${Resource}/${Parameter} left as written (pseudo parameters
// included), so that the checks see what the template wrote.
func dashboardBody(t *testing.T, v any) map[string]any {
	t.Helper()
	sub, _ := object(map[string]any{"v": v}, "v")["Fn::Sub"].([]any)
	if len(sub) != 2 {
		t.Fatalf("DashboardBody is %v; want !Sub [body, variables]", v)
	}
	text, _ := sub[0].(string)
	// Numbers substituted into the body (the latency threshold) must still parse.
	text = strings.ReplaceAll(text, "${LatencyP99ThresholdMs}", "1000")
	var body map[string]any
	if err := json.Unmarshal([]byte(text), &body); err != nil {
		t.Fatalf("DashboardBody is not JSON: %v", err)
	}
	if route := object(sub[1])["Route"]; route != localapi.RouteKey {
		t.Errorf("DashboardBody's Route variable is %v, want the route the code serves, %q", route, localapi.RouteKey)
	}
	// Every ${name} is a variable of the map, a resource, a parameter or a pseudo parameter.
	vars := object(sub[1])
	tmpl := raw(t)
	for _, m := range regexp.MustCompile(`\$\{([^}]+)\}`).FindAllStringSubmatch(text, -1) {
		name := m[1]
		_, isVar := vars[name]
		isResource := object(tmpl, "Resources", name) != nil
		isParam := object(tmpl, "Parameters", name) != nil
		if !isVar && !isResource && !isParam && !strings.HasPrefix(name, "AWS::") {
			t.Errorf("DashboardBody uses ${%s}, which names nothing", name)
		}
	}
	return body
}

// TestTemplateReadsTheRequestLogsMetrics ties the alarms and the dashboard to the metrics the
// request log line carries (pkg/apigw/metrics.go), and keeps that line from being filtered out.
func TestTemplateReadsTheRequestLogsMetrics(t *testing.T) {
	t.Parallel()
	tmpl := raw(t)
	outcomes := []string{apigw.OutcomeOK, apigw.CodeUnauthorized, apigw.CodeForbidden, apigw.CodeValidationFailed,
		apigw.CodeUnsupportedMediaType, apigw.CodePayloadTooLarge, apigw.CodeInvalidInput, apigw.CodeCampaignNotActive,
		apigw.CodeNotFound, apigw.CodeServiceUnavailable, apigw.CodeInternal}
	var used int
	for id, a := range resourcesOfType(tmpl, "AWS::CloudWatch::Alarm") {
		for _, m := range alarmMetrics(object(a, "Properties")) {
			if m.namespace != apigw.MetricsNamespace {
				continue
			}
			used++
			if m.name != apigw.MetricDuration && m.name != apigw.MetricStorageCalls {
				t.Errorf("%s reads %s, which the request log line does not carry", id, m.name)
			}
			if fn, _ := ref(m.dims[apigw.DimensionFunction]); fn != functionID {
				t.Errorf("%s: dimension %s is %v, want Ref %s", id, apigw.DimensionFunction, m.dims[apigw.DimensionFunction], functionID)
			}
			for d, v := range m.dims {
				switch {
				case d == apigw.DimensionFunction:
				case d == apigw.DimensionOutcome && slices.Contains(outcomes, fmt.Sprint(v)):
				default:
					t.Errorf("%s: dimension %s=%v is not one the request log line gives", id, d, v)
				}
			}
		}
	}
	if used == 0 {
		t.Errorf("no alarm reads the request log's metrics")
	}
	// The 5xx-rate rollback alarm counts every outcome answered with a 5xx.
	var fiveXX []string
	for _, m := range alarmMetrics(object(tmpl, "Resources", "FunctionServerErrorRateAlarm", "Properties")) {
		if o, ok := m.dims[apigw.DimensionOutcome].(string); ok {
			fiveXX = append(fiveXX, o)
		}
	}
	slices.Sort(fiveXX)
	if want := []string{apigw.CodeInternal, apigw.CodeServiceUnavailable}; !slices.Equal(fiveXX, want) {
		t.Errorf("FunctionServerErrorRateAlarm counts outcomes %v, want %v", fiveXX, want)
	}

	for _, d := range resourcesOfType(tmpl, "AWS::CloudWatch::Dashboard") {
		sub, _ := object(d, "Properties", "DashboardBody")["Fn::Sub"].([]any)
		if len(sub) != 2 {
			t.Fatal("DashboardBody is not !Sub [body, variables]")
		}
		if ns := object(sub[1])["Namespace"]; ns != apigw.MetricsNamespace {
			t.Errorf("dashboard Namespace variable is %v, want %s", ns, apigw.MetricsNamespace)
		}
		body, _ := sub[0].(string)
		for _, name := range []string{apigw.MetricDuration, apigw.MetricStorageCalls, apigw.DimensionFunction, apigw.DimensionOutcome} {
			if !strings.Contains(body, `"`+name+`"`) && !strings.Contains(body, ","+name) {
				t.Errorf("the dashboard does not show %s", name)
			}
		}
	}

	// The request line is logged at INFO: a LogLevel above it (the function's own filter, and
	// Lambda's ApplicationLogLevel) would drop the metrics of every successful request.
	allowed, _ := object(tmpl, "Parameters", "LogLevel")["AllowedValues"].([]any)
	for _, v := range allowed {
		var level slog.Level
		if err := level.UnmarshalText([]byte(fmt.Sprint(v))); err != nil || level > slog.LevelInfo {
			t.Errorf("LogLevel allows %v, which would filter out the INFO request line and its metrics", v)
		}
	}
}
