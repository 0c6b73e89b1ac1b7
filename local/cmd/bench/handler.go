package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// The handler benchmarks of pkg/apigw/bench_test.go, in table order.
var handlerBenchmarks = []struct{ name, label string }{
	{"BenchmarkHandlerSuccess", "200"},
	{"BenchmarkHandlerValidationFailed", "422"},
	{"BenchmarkHandlerUnauthorized", "401"},
}

// benchResult is one benchmark's figures: the median of its runs.
type benchResult struct {
	nsPerOp     float64
	bytesPerOp  float64
	allocsPerOp float64
	runs        int
}

// runHandlerBenchmarks runs the handler benchmarks with go test and returns each one's median
// figures, by benchmark name.
func runHandlerBenchmarks(ctx context.Context, o options) (map[string]benchResult, error) {
	names := make([]string, len(handlerBenchmarks))
	for i, b := range handlerBenchmarks {
		names[i] = strings.TrimPrefix(b.name, "Benchmark")
	}
	pattern := "^Benchmark(" + strings.Join(names, "|") + ")$"
	cmd := exec.CommandContext(ctx, o.goBin, "test", "-run=^$", "-bench="+pattern, "-benchmem",
		"-count="+strconv.Itoa(o.benchCount), "-benchtime="+o.benchTime, "./pkg/apigw/")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %w\n%s%s", err, out, stderr.Bytes())
	}
	return parseBenchOutput(string(out))
}

// parseBenchOutput reads go test -benchmem output lines such as
// "BenchmarkHandlerSuccess-2  65181  21273 ns/op  5708 B/op  81 allocs/op".
func parseBenchOutput(out string) (map[string]benchResult, error) {
	type samples struct{ ns, bytes, allocs []float64 }
	all := map[string]*samples{}
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name, _, _ := strings.Cut(fields[0], "-")
		s := all[name]
		if s == nil {
			s = &samples{}
			all[name] = s
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("parse benchmark line %q: %w", line, err)
			}
			switch fields[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	results := map[string]benchResult{}
	for _, b := range handlerBenchmarks {
		s := all[b.name]
		if s == nil || len(s.ns) == 0 || len(s.allocs) == 0 {
			return nil, fmt.Errorf("go test printed no result for %s:\n%s", b.name, out)
		}
		results[b.name] = benchResult{nsPerOp: median(s.ns), bytesPerOp: median(s.bytes), allocsPerOp: median(s.allocs), runs: len(s.ns)}
	}
	return results, nil
}

// median returns the median of xs, which it sorts; 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}
