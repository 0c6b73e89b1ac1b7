// Command bench is `make bench`: it measures the function against references measured in the
// same run, on the same machine, and prints one Markdown table on stdout (progress goes to
// stderr):
//
//   - handler overhead: the real handler in process over instant storage stubs (Go benchmarks in
//     pkg/apigw/bench_test.go, run with go test);
//   - end to end: PATCHes over real HTTP through the local API against dynalite, beside the floor,
//     the bare SDK calls the request needs (the key GetItem, then the conditional UpdateItem) on
//     the same engine and items, sequentially and with concurrent clients, in alternating rounds;
//   - cold start: from starting the Lambda emulator to the first response, for the real bootstrap
//     and for a minimal aws-lambda-go bootstrap (./minimal), and the first request's duration
//     against a warm one's;
//   - size and memory: the arm64 bootstrap and its zip, and the peak RSS of the bootstrap under a
//     load fed by concurrent clients.
//
// Targets live here, in the output, never in unit tests. The machine may be shared: every
// comparison is measured side by side in the same run (alternating rounds, interleaved cold
// starts), and the header line gives the load average at start and end.
//
//	go run ./local/cmd/bench [-n 2000] [-clients 8] [-per-client 500] [-cold-runs 15]
//	go run ./local/cmd/bench -only cold -v                          # one section, emulator output on stderr
//	go run ./local/cmd/bench -only cold -function /tmp/variant.go   # an experiment against the same references
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/engine"
)

type options struct {
	goBin         string
	function      string
	rie           string
	fixtures      string
	n             int
	clients       int
	perClient     int
	round         int
	warmup        int
	coldRuns      int
	warmInvokes   int
	rssInvokes    int
	benchCount    int
	benchTime     string
	keepArtifacts bool
	verbose       bool
	only          map[string]bool
}

// sections are the parts of the bench, for -only.
var sections = []string{"handler", "e2e", "cold", "rss"}

func (o options) runs(section string) bool { return len(o.only) == 0 || o.only[section] }

func main() {
	var o options
	flag.StringVar(&o.goBin, "go", "go", "the go command, for go test and go build")
	flag.StringVar(&o.function, "function", functionPkg, "the function to measure: a package, or a main .go file for an experiment")
	flag.StringVar(&o.rie, "rie", "local/bin/aws-lambda-rie", "the aws-lambda-rie executable (make tools installs it)")
	flag.StringVar(&o.fixtures, "fixtures", "local/fixtures/demo.json", "fixture file seeded into dynalite")
	flag.IntVar(&o.n, "n", 2000, "sequential PATCHes measured on each side (ours, floor)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients")
	flag.IntVar(&o.perClient, "per-client", 500, "PATCHes per concurrent client on each side")
	flag.IntVar(&o.round, "round", 10, "requests per client in one round; ours and the floor alternate rounds, which cancels drift in the machine's load")
	flag.IntVar(&o.warmup, "warmup", 200, "unmeasured PATCHes on each side before measuring")
	flag.IntVar(&o.coldRuns, "cold-runs", 15, "emulator cold starts of each bootstrap")
	flag.IntVar(&o.warmInvokes, "warm-invokes", 10, "warm invokes after each cold start of ours")
	flag.IntVar(&o.rssInvokes, "rss-invokes", 400, "invokes fed by the concurrent clients while peak RSS is measured")
	flag.IntVar(&o.benchCount, "bench-count", 5, "go test -count for the handler benchmarks (the median is kept)")
	flag.StringVar(&o.benchTime, "bench-time", "1s", "go test -benchtime for the handler benchmarks")
	flag.BoolVar(&o.keepArtifacts, "keep", false, "keep the built bootstraps (their directory is printed)")
	flag.BoolVar(&o.verbose, "v", false, "copy the emulator's output (REPORT lines, the function's log lines) to stderr")
	only := flag.String("only", "", "comma-separated sections to run, of "+strings.Join(sections, ",")+" (default all; size is always measured)")
	flag.Parse()
	for _, name := range strings.Split(*only, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.Contains(sections, name) {
			fmt.Fprintf(os.Stderr, "bench: unknown section %q in -only\n", name)
			os.Exit(2)
		}
		if o.only == nil {
			o.only = map[string]bool{}
		}
		o.only[name] = true
	}
	if flag.NArg() > 0 || o.n < 1 || o.clients < 1 || o.perClient < 1 || o.round < 1 || o.coldRuns < 1 || o.benchCount < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var started = time.Now()

// progress prints a progress line on stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) error {
	if strings.HasSuffix(o.function, ".go") {
		abs, err := filepath.Abs(o.function)
		if err != nil {
			return err
		}
		o.function = abs
	}
	root, err := engine.RepoRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	if info, err := os.Stat(o.rie); err != nil || info.IsDir() {
		return fmt.Errorf("no emulator at %s: run make tools", o.rie)
	}
	machine := machineFacts(ctx, o.goBin)
	progress("%s", machine)

	// Builds and the handler benchmarks first: compiling is the heaviest thing here, and nothing
	// is timed while it runs.
	var r results
	if o.runs("handler") {
		progress("handler benchmarks: go test -bench, count %d, benchtime %s", o.benchCount, o.benchTime)
		if r.handler, err = runHandlerBenchmarks(ctx, o); err != nil {
			return err
		}
	}
	builds, err := buildBootstraps(ctx, o)
	if err != nil {
		return err
	}
	r.builds = builds
	if o.keepArtifacts {
		progress("bootstraps kept in %s", builds.dir)
	} else {
		defer os.RemoveAll(builds.dir)
	}

	if o.runs("e2e") || o.runs("cold") || o.runs("rss") {
		progress("starting dynalite")
		env, err := newEnv(ctx, o)
		if err != nil {
			return err
		}
		defer env.stop()
		if o.runs("e2e") {
			if r.seq, err = runSequential(ctx, env, o); err != nil {
				return err
			}
			if r.conc, err = runConcurrent(ctx, env, o); err != nil {
				return err
			}
		}
		if o.runs("cold") {
			if r.cold, err = runColdStarts(ctx, env, builds, o); err != nil {
				return err
			}
		}
		if o.runs("rss") {
			if r.rss, err = runPeakRSS(ctx, env, builds, o); err != nil {
				return err
			}
		}
	}
	machine.loadEnd = loadAverage()

	printTable(os.Stdout, machine, o, r)
	progress("done")
	return nil
}

// machine describes where the figures were measured.
type machine struct {
	cpu       string
	cores     int
	goVersion string
	date      string
	loadStart string
	loadEnd   string
}

func (m machine) String() string {
	return fmt.Sprintf("%s, %d cores, %s, %s, load average %s", m.cpu, m.cores, m.goVersion, m.date, m.loadStart)
}

func machineFacts(ctx context.Context, goBin string) machine {
	m := machine{
		cpu:       "unknown CPU",
		cores:     runtime.NumCPU(),
		goVersion: runtime.Version(),
		date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		loadStart: loadAverage(),
	}
	if out, err := commandOutput(ctx, goBin, "env", "GOVERSION"); err == nil {
		m.goVersion = strings.TrimSpace(out)
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if name, value, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				m.cpu = strings.TrimSpace(value)
				break
			}
		}
	}
	return m
}

// loadAverage returns the 1, 5 and 15 minute load averages: the machine is shared, and a
// figure measured under load says so.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}
