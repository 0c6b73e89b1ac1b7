// Package emfcheck checks a log line against CloudWatch's Embedded Metric Format (EMF)
// specification, as CloudWatch Logs applies it when it extracts metrics from a Lambda function's
// log events, and returns the metrics the line yields. Tests use it on real request log lines
// (from the handler, under the Lambda emulator, and in the cloud rehearsal); the deployed function
// never imports it.
//
// The rules are the specification's
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// the root is a JSON object with an "_aws" object holding "Timestamp" (milliseconds since the
// epoch, an integer) and "CloudWatchMetrics", an array of directives; each directive has a
// "Namespace" (1 to 1024 characters), "Dimensions" (an array of dimension sets, each an array of
// at most 30 member names) and "Metrics" (at most 100 objects, each with a "Name" of 1 to 1024
// characters, an optional "Unit" from the fixed list and an optional "StorageResolution" of 1 or
// 60). Every dimension named is a top-level string member; every metric named is a top-level
// number or array of at most 100 numbers.
package emfcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Metric is one metric value a line yields under one dimension set.
type Metric struct {
	// Namespace is the CloudWatch namespace.
	Namespace string
	// Name is the metric's name.
	Name string
	// Unit is the unit the directive gives ("" when it gives none, which means None).
	Unit string
	// Dimensions maps each dimension of the set to its value in the line.
	Dimensions map[string]string
	// Values holds the metric's value, or values when the member is an array.
	Values []float64
}

// units are the units the specification allows.
var units = []string{
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
	"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
	"Count/Second", "None",
}

// Limits of the specification.
const (
	maxDimensionsPerSet = 30
	maxMetrics          = 100
	maxValues           = 100
	maxNameLength       = 1024
)

// Check parses line as an EMF document and returns the metrics it yields, one per metric and
// dimension set, or every way in which the line breaks the specification.
func Check(line []byte) ([]Metric, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	meta, ok := root["_aws"].(map[string]any)
	if !ok {
		return nil, errors.New(`no "_aws" object: not an EMF document`)
	}
	if ts, ok := meta["Timestamp"].(json.Number); !ok {
		fail(`_aws.Timestamp is %v, want an integer number of milliseconds since the epoch`, meta["Timestamp"])
	} else if ms, err := ts.Int64(); err != nil || ms < 1e12 || ms > 1e14 {
		fail(`_aws.Timestamp %s is not an integer number of milliseconds since the epoch`, ts)
	}
	directives, ok := meta["CloudWatchMetrics"].([]any)
	if !ok || len(directives) == 0 {
		fail(`_aws.CloudWatchMetrics is %v, want a non-empty array of metric directives`, meta["CloudWatchMetrics"])
	}
	var metrics []Metric
	for i, d := range directives {
		where := fmt.Sprintf("_aws.CloudWatchMetrics[%d]", i)
		directive, ok := d.(map[string]any)
		if !ok {
			fail("%s is not an object", where)
			continue
		}
		namespace, ok := directive["Namespace"].(string)
		if !ok || namespace == "" || len(namespace) > maxNameLength {
			fail("%s.Namespace is %v, want a string of 1 to %d characters", where, directive["Namespace"], maxNameLength)
		}
		sets, ok := directive["Dimensions"].([]any)
		if !ok {
			fail("%s.Dimensions is %v, want an array of dimension sets", where, directive["Dimensions"])
		}
		var dimensionSets []map[string]string
		for j, s := range sets {
			names, ok := s.([]any)
			if !ok || len(names) > maxDimensionsPerSet {
				fail("%s.Dimensions[%d] is %v, want an array of at most %d member names", where, j, s, maxDimensionsPerSet)
				continue
			}
			set := map[string]string{}
			for _, n := range names {
				name, _ := n.(string)
				value, isString := root[name].(string)
				if name == "" || !isString || value == "" {
					fail("%s.Dimensions[%d] names %v, which is not a top-level member holding a non-empty string", where, j, n)
					continue
				}
				set[name] = value
			}
			dimensionSets = append(dimensionSets, set)
		}
		list, ok := directive["Metrics"].([]any)
		if !ok || len(list) == 0 || len(list) > maxMetrics {
			fail("%s.Metrics is %v, want an array of 1 to %d metric definitions", where, directive["Metrics"], maxMetrics)
		}
		for k, m := range list {
			def, ok := m.(map[string]any)
			name, _ := def["Name"].(string)
			if !ok || name == "" || len(name) > maxNameLength {
				fail("%s.Metrics[%d] is %v, want an object with a Name of 1 to %d characters", where, k, m, maxNameLength)
				continue
			}
			unit, hasUnit := def["Unit"]
			unitName, _ := unit.(string)
			if hasUnit && !slices.Contains(units, unitName) {
				fail("%s.Metrics[%d].Unit is %v, want one of %s", where, k, unit, strings.Join(units, ", "))
			}
			if res, ok := def["StorageResolution"]; ok && res != json.Number("1") && res != json.Number("60") {
				fail("%s.Metrics[%d].StorageResolution is %v, want 1 or 60", where, k, res)
			}
			values, err := numbers(root[name])
			if err != nil {
				fail("%s.Metrics[%d] names %q, but the top-level member %s", where, k, name, err)
				continue
			}
			for _, set := range dimensionSets {
				metrics = append(metrics, Metric{Namespace: namespace, Name: name, Unit: unitName, Dimensions: set, Values: values})
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return metrics, nil
}

// numbers reads a metric member: a number, or an array of at most maxValues numbers.
func numbers(v any) ([]float64, error) {
	one := func(v any) (float64, error) {
		n, ok := v.(json.Number)
		if !ok {
			return 0, fmt.Errorf("is %v, not a number", v)
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, fmt.Errorf("is %v, not a finite number", v)
		}
		return f, nil
	}
	if list, ok := v.([]any); ok {
		if len(list) == 0 || len(list) > maxValues {
			return nil, fmt.Errorf("is an array of %d values, want 1 to %d", len(list), maxValues)
		}
		out := make([]float64, 0, len(list))
		for _, e := range list {
			f, err := one(e)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	}
	if v == nil {
		return nil, errors.New("is missing")
	}
	f, err := one(v)
	if err != nil {
		return nil, err
	}
	return []float64{f}, nil
}
