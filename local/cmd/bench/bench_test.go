package main

import (
	"slices"
	"testing"
	"time"
)

func TestMakefileBuildFlagsAreSplitLikeAShell(t *testing.T) {
	t.Parallel()
	got, err := makefileBuildFlags("../../../Makefile")
	if err != nil {
		t.Fatalf("makefileBuildFlags: %v", err)
	}
	// The Makefile's own value: its quoted -ldflags must stay one argument.
	want := []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w -buildid="}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{`a  'b c'	"d"e`, []string{"a", "b c", "de"}},
		{`""`, []string{""}},
		{``, nil},
	} {
		if got, err := splitShellWords(tt.in); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("splitShellWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := splitShellWords(`"open`); err == nil {
		t.Error("an unbalanced quote gave no error")
	}
}

func TestBenchOutputGivesEachBenchmarksMedian(t *testing.T) {
	t.Parallel()
	out := `goos: linux
BenchmarkHandlerSuccess-2            	   10000	    30000 ns/op	    5710 B/op	      81 allocs/op
BenchmarkHandlerSuccess-2            	   54716	    10000 ns/op	    5708 B/op	      81 allocs/op
BenchmarkHandlerSuccess-2            	   65181	    20000 ns/op	    5708 B/op	      81 allocs/op
BenchmarkHandlerValidationFailed-2   	   66747	    27822 ns/op	    5355 B/op	      85 allocs/op
BenchmarkHandlerUnauthorized-2       	   73138	    16965 ns/op	    5011 B/op	      84 allocs/op
PASS
`
	got, err := parseBenchOutput(out)
	if err != nil {
		t.Fatalf("parseBenchOutput: %v", err)
	}
	if want := (benchResult{nsPerOp: 20000, bytesPerOp: 5708, allocsPerOp: 81, runs: 3}); got["BenchmarkHandlerSuccess"] != want {
		t.Errorf("success = %+v, want %+v", got["BenchmarkHandlerSuccess"], want)
	}
	if _, err := parseBenchOutput("PASS\n"); err == nil {
		t.Error("output without results gave no error")
	}
}

func TestReportWriterReadsTheEmulatorsLines(t *testing.T) {
	t.Parallel()
	w := newReportWriter()
	lines := "START RequestId: a Version: $LATEST\n" +
		`{"time":"2026-11-27T02:06:40Z","level":"INFO","msg":"request","status":200,"duration_ms":8.836}` + "\n" +
		"END RequestId: a\n" +
		"REPORT RequestId: a\tInit Duration: 0.03 ms\tDuration: 17.25 ms\tBilled Duration: 18 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t\n" +
		"REPORT RequestId: b\tDuration: 5.47 ms\tBilled Duration: 6 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB\t\n"
	// Written in pieces, as a pipe delivers it.
	for i := 0; i < len(lines); i += 7 {
		_, _ = w.Write([]byte(lines[i:min(i+7, len(lines))]))
	}
	for _, want := range []float64{17.25, 5.47} {
		if got, err := w.next(time.Second); err != nil || got != want {
			t.Errorf("REPORT Duration = %v, %v; want %v", got, err, want)
		}
	}
	if got := w.requestDurations(); !slices.Equal(got, []float64{8.836}) {
		t.Errorf("request durations = %v, want [8.836]", got)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	t.Parallel()
	var l latencies
	for i := 100; i >= 1; i-- {
		l.all = append(l.all, time.Duration(i)*time.Millisecond)
	}
	if got := l.percentile(0.5); got != 50*time.Millisecond {
		t.Errorf("p50 = %s, want 50ms", got)
	}
	if got := l.percentile(0.99); got != 99*time.Millisecond {
		t.Errorf("p99 = %s, want 99ms", got)
	}
}
