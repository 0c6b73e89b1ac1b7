package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// fullPathPair is one full-path measure: our function's benchmark and the minimal handler's.
type fullPathPair struct {
	ours, reference string // benchmark names in fullpath_test.go
	status          string // for the row descriptions
}

var (
	fullPathPatch        = fullPathPair{"BenchmarkFullPath", "BenchmarkFullPathReference", "200"}
	fullPathUnauthorized = fullPathPair{"BenchmarkFullPathUnknownKey", "BenchmarkFullPathReferenceUnknownKey", "401"}
)

// benchResult is one benchmark run's figures; cpuNsPerOp is 0 when the benchmark does not report
// it.
type benchResult struct {
	nsPerOp, bytesPerOp, allocsPerOp, cpuNsPerOp float64
}

// fullPathResults are each benchmark's runs, one per repetition, by name.
type fullPathResults map[string][]benchResult

// runFullPath runs the full-path benchmarks from the prebuilt test binary: o.reps repetitions,
// each running ours and the reference of each pair once, alternating which goes first.
func runFullPath(ctx context.Context, o options, testBinary string) (fullPathResults, error) {
	progress("full path: %d repetitions of each benchmark, benchtime %s", o.reps, o.benchTime)
	r := fullPathResults{}
	for rep := range o.reps {
		for _, p := range []fullPathPair{fullPathPatch, fullPathUnauthorized} {
			for _, isOurs := range roundOrder(rep) {
				name := p.ours
				if !isOurs {
					name = p.reference
				}
				out, err := runBenchmark(ctx, testBinary, name, o.benchTime)
				if err != nil {
					return nil, err
				}
				got, err := parseBenchOutput(out)
				if err != nil {
					return nil, err
				}
				if len(got[name]) != 1 {
					return nil, fmt.Errorf("%s: %d results, want 1:\n%s", name, len(got[name]), out)
				}
				r[name] = append(r[name], got[name][0])
			}
		}
		x, ref := r[fullPathPatch.ours][rep], r[fullPathPatch.reference][rep]
		progress("  repetition %d: ours %.1f µs (CPU %.1f µs), %.0f allocs; reference %.1f µs (CPU %.1f µs), %.0f allocs", rep+1,
			x.nsPerOp/1000, x.cpuNsPerOp/1000, x.allocsPerOp, ref.nsPerOp/1000, ref.cpuNsPerOp/1000, ref.allocsPerOp)
	}
	return r, nil
}

// runBenchmark runs one benchmark of the test binary and returns its output.
func runBenchmark(ctx context.Context, testBinary, name, benchTime string, extra ...string) (string, error) {
	args := append([]string{"-test.run=^$", "-test.bench=^" + name + "$", "-test.benchmem", "-test.count=1", "-test.benchtime=" + benchTime}, extra...)
	cmd := exec.CommandContext(ctx, testBinary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s%s", filepath.Base(testBinary), strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out), nil
}

// profileFullPath writes a CPU and an allocation profile of our function's full path into dir.
func profileFullPath(ctx context.Context, o options, testBinary string) error {
	if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return err
	}
	cpu, mem := filepath.Join(o.profileDir, "cpu.pprof"), filepath.Join(o.profileDir, "mem.pprof")
	if _, err := runBenchmark(ctx, testBinary, fullPathPatch.ours, "3s",
		"-test.cpuprofile="+cpu, "-test.memprofile="+mem, "-test.memprofilerate=1"); err != nil {
		return err
	}
	progress("profiles of %s: %s, %s (go tool pprof -top %s; -sample_index=alloc_objects for allocations)", fullPathPatch.ours, cpu, mem, cpu)
	return nil
}

// parseBenchOutput reads go test -benchmem output lines such as
// "BenchmarkFullPath-2  5000  233000 ns/op  41000 B/op  928 allocs/op", by benchmark name.
func parseBenchOutput(out string) (map[string][]benchResult, error) {
	all := map[string][]benchResult{}
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		var r benchResult
		seen := 0
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("parse benchmark line %q: %w", line, err)
			}
			switch fields[i+1] {
			case "ns/op":
				r.nsPerOp, seen = v, seen|1
			case "B/op":
				r.bytesPerOp, seen = v, seen|2
			case "allocs/op":
				r.allocsPerOp, seen = v, seen|4
			case "cpu-ns/op":
				r.cpuNsPerOp = v
			}
		}
		if seen != 7 {
			return nil, fmt.Errorf("benchmark line %q lacks ns/op, B/op or allocs/op (run with -benchmem)", line)
		}
		all[name] = append(all[name], r)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no benchmark results in:\n%s", out)
	}
	return all, nil
}

// rows returns the full-path rows.
func (r fullPathResults) rows() []row {
	figures := func(name string, f func(benchResult) float64) []float64 {
		var xs []float64
		for _, b := range r[name] {
			xs = append(xs, f(b))
		}
		return xs
	}
	ns := func(b benchResult) float64 { return b.nsPerOp }
	cpu := func(b benchResult) float64 { return b.cpuNsPerOp }
	bytes := func(b benchResult) float64 { return b.bytesPerOp }
	allocs := func(b benchResult) float64 { return b.allocsPerOp }
	p, u := fullPathPatch, fullPathUnauthorized
	return []row{
		compared("handler-path-ns", "full path in process, event to response, SDK over canned DynamoDB answers: time per 200", unitNs, figures(p.ours, ns), figures(p.reference, ns), nil),
		compared("handler-path-cpu", "full path: CPU time per 200, all threads (garbage collector included)", unitNs, figures(p.ours, cpu), figures(p.reference, cpu), nil),
		compared("handler-path-bytes", "full path: bytes allocated per 200", unitBytes, figures(p.ours, bytes), figures(p.reference, bytes), nil),
		compared("handler-path-allocs", "full path: allocations per 200", unitAllocs, figures(p.ours, allocs), figures(p.reference, allocs), targetHandlerAlloc),
		compared("handler-path-401-ns", "full path: time per 401 for an unknown key (one GetItem)", unitNs, figures(u.ours, ns), figures(u.reference, ns), nil),
		compared("handler-path-401-allocs", "full path: allocations per 401 for an unknown key", unitAllocs, figures(u.ours, allocs), figures(u.reference, allocs), nil),
	}
}
