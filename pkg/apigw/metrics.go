package apigw

import (
	"encoding/json"
	"log/slog"
	"time"
)

// The request log line is also the request's metrics, in CloudWatch's Embedded Metric Format
// (EMF): its "_aws" member tells CloudWatch Logs to read the members named below as metrics and
// dimensions when Lambda delivers the line. No client and no call: the line is written anyway.
// The dimensions stay few and bounded (the function, and the outcome from the closed set of error
// codes), never a caller's organization or number: every distinct dimension value is a billed
// metric. template.yaml's alarms and dashboard use these names.

// MetricsNamespace is the CloudWatch namespace of the request metrics.
const MetricsNamespace = "SMSPlatform/PhoneNumbers"

// Members of the request log line that CloudWatch reads as metrics.
const (
	// MetricDuration is how long the handler took, in milliseconds.
	MetricDuration = "duration_ms"
	// MetricStorageCalls is the number of storage round trips the request made.
	MetricStorageCalls = "storage_calls"
)

// Members of the request log line that CloudWatch reads as dimensions.
const (
	// DimensionFunction is the Lambda function's name, so that stacks do not share metrics.
	DimensionFunction = "function_name"
	// DimensionOutcome is OutcomeOK or the response's error code.
	DimensionOutcome = "outcome"
)

// OutcomeOK is the outcome dimension of a request answered 200.
const OutcomeOK = "OK"

// The EMF units of the metrics.
const (
	unitMilliseconds = "Milliseconds"
	unitCount        = "Count"
)

// emfDirectives is the constant part of the "_aws" member: each metric per function, and per
// function and outcome. Encoded once; only the timestamp changes per line.
var emfDirectives = func() json.RawMessage {
	type metric struct{ Name, Unit string }
	encoded, err := json.Marshal([]struct {
		Namespace  string
		Dimensions [][]string
		Metrics    []metric
	}{{
		Namespace:  MetricsNamespace,
		Dimensions: [][]string{{DimensionFunction}, {DimensionFunction, DimensionOutcome}},
		Metrics:    []metric{{MetricDuration, unitMilliseconds}, {MetricStorageCalls, unitCount}},
	}})
	if err != nil {
		panic(err) // a constant value: fails at the first test run, never in production
	}
	return encoded
}()

// metricAttrs returns the members that make the request log line an EMF document, given its
// outcome and the time it is written. Without a function name (the local server, not Lambda)
// there is nothing to attribute metrics to, and the line stays a plain log line.
func (h *Handler) metricAttrs(outcome string, at time.Time) []slog.Attr {
	if h.functionName == "" {
		return nil
	}
	return []slog.Attr{
		slog.String(DimensionFunction, h.functionName),
		slog.String(DimensionOutcome, outcome),
		slog.Group("_aws",
			slog.Int64("Timestamp", at.UnixMilli()),
			slog.Any("CloudWatchMetrics", emfDirectives)),
	}
}
