package emfcheck

import (
	"reflect"
	"strings"
	"testing"
)

// specExample is the example document of the EMF specification.
const specExample = `{
  "_aws": {
    "Timestamp": 1574109732004,
    "CloudWatchMetrics": [
      {
        "Namespace": "lambda-function-metrics",
        "Dimensions": [["functionVersion"]],
        "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}]
      }
    ]
  },
  "functionVersion": "$LATEST",
  "time": 100,
  "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"
}`

func TestCheckAcceptsTheSpecificationsExample(t *testing.T) {
	t.Parallel()
	got, err := Check([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{{Namespace: "lambda-function-metrics", Name: "time", Unit: "Milliseconds",
		Dimensions: map[string]string{"functionVersion": "$LATEST"}, Values: []float64{100}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestCheckYieldsEachMetricPerDimensionSet(t *testing.T) {
	t.Parallel()
	line := `{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["f"],["f","o"]],
	  "Metrics":[{"Name":"d","Unit":"Milliseconds"},{"Name":"c"}]}]},"f":"fn","o":"OK","d":[1.5,2],"c":3}`
	got, err := Check([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{"N", "d", "Milliseconds", map[string]string{"f": "fn"}, []float64{1.5, 2}},
		{"N", "d", "Milliseconds", map[string]string{"f": "fn", "o": "OK"}, []float64{1.5, 2}},
		{"N", "c", "", map[string]string{"f": "fn"}, []float64{3}},
		{"N", "c", "", map[string]string{"f": "fn", "o": "OK"}, []float64{3}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestCheckRefusesWhatCloudWatchWouldNotExtract(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, to, want string
	}{
		{"not JSON", `{`, `[`, "not a JSON object"},
		{"no _aws", `"_aws"`, `"aws"`, `no "_aws" object`},
		{"timestamp in seconds", `1574109732004`, `1574109732`, "Timestamp"},
		{"timestamp as text", `1574109732004`, `"2019-11-18T20:42:12Z"`, "Timestamp"},
		{"no namespace", `"Namespace": "lambda-function-metrics",`, ``, "Namespace"},
		{"dimension not a member", `"functionVersion": "$LATEST",`, ``, "functionVersion"},
		{"dimension not a string", `"functionVersion": "$LATEST"`, `"functionVersion": 7`, "functionVersion"},
		{"dimensions not sets", `[["functionVersion"]]`, `["functionVersion"]`, "Dimensions[0]"},
		{"metric not a member", `"time": 100,`, ``, `"time"`},
		{"metric not a number", `"time": 100`, `"time": "100"`, `"time"`},
		{"unknown unit", `"Unit": "Milliseconds"`, `"Unit": "ms"`, "Unit"},
		{"bad storage resolution", `"StorageResolution": 60`, `"StorageResolution": 5`, "StorageResolution"},
		{"no metrics", `[{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}]`, `[]`, "Metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(specExample, tt.from) {
				t.Fatalf("the example has no %q", tt.from)
			}
			line := strings.Replace(specExample, tt.from, tt.to, 1)
			_, err := Check([]byte(line))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
