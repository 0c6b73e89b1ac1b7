// Command bench is `make bench`: it measures the function against references measured in the
// same run, on the same machine, and prints one Markdown table on stdout, or with -json one JSON
// object per row (progress goes to stderr). See README.md for what each row means.
//
//   - full path (handler-path-*): Go benchmarks in fullpath_test.go, our function in process from
//     event JSON to response JSON with the real SDK client over an in-memory transport answering
//     canned DynamoDB responses, against the minimal bootstrap's handler over the same transport;
//   - end to end (e2e-*, throughput-*): PATCHes over HTTP to make run's server, built and started
//     as a subprocess with its own dynalite, against the floor, the two SDK calls a PATCH needs
//     with plain expressions (package plain) made from the bench's process on the same engine and
//     items, sequentially and with concurrent clients, in alternating rounds;
//   - cold start (cold-invoke*): the first invoke under the Lambda emulator, which starts the
//     bootstrap, for the real bootstrap and for ./minimal, which makes the same DynamoDB calls;
//     and for a 401 event that needs no storage call on either side;
//   - size and memory: the arm64 bootstraps and zips, and peak RSS under load.
//
// Every ratio is taken per repetition (-reps, at least 3 by default) and reported as the median
// with its range; a target is met only when the whole range meets it.
//
//	go run ./local/cmd/bench [-json] [-reps 3] [-n 1000] [-clients 8] [-per-client 200] [-cold-runs 7]
//	go run ./local/cmd/bench -only cold -v                          # one section, emulator output on stderr
//	go run ./local/cmd/bench -only handler -profile /tmp/prof       # CPU and allocation profiles of the full path
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
	jsonOut       bool
	reps          int
	n             int
	clients       int
	perClient     int
	round         int
	warmup        int
	coldRuns      int
	rssInvokes    int
	benchTime     string
	profileDir    string
	keepArtifacts bool
	verbose       bool
	only          map[string]bool
}

// sections are the parts of the bench, for -only.
var sections = []string{"handler", "e2e", "cold", "rss"}

func (o options) runs(section string) bool { return len(o.only) == 0 || o.only[section] }

func main() {
	var o options
	flag.StringVar(&o.goBin, "go", "go", "the go command, for go build and go test -c")
	flag.StringVar(&o.function, "function", functionPkg, "the function to measure in the cold-start, size and memory rows: a package, or a main .go file for an experiment")
	flag.StringVar(&o.rie, "rie", "local/bin/aws-lambda-rie", "the aws-lambda-rie executable (make tools installs it)")
	flag.StringVar(&o.fixtures, "fixtures", "local/fixtures/demo.json", "fixture file make run's server loads (the bench adds one number per client)")
	flag.BoolVar(&o.jsonOut, "json", false, "print one JSON object per row instead of the Markdown table")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each measurement; each ratio is the median of the repetitions' ratios, with its range")
	flag.IntVar(&o.n, "n", 1000, "sequential PATCHes per side in each repetition")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients")
	flag.IntVar(&o.perClient, "per-client", 200, "PATCHes per concurrent client per side in each repetition")
	flag.IntVar(&o.round, "round", 10, "requests per client in one round; ours and the floor alternate rounds, which cancels drift in the machine's load")
	flag.IntVar(&o.warmup, "warmup", 200, "unmeasured PATCHes on each side before the end-to-end repetitions")
	flag.IntVar(&o.coldRuns, "cold-runs", 7, "emulator cold starts of each bootstrap for each case in each repetition")
	flag.IntVar(&o.rssInvokes, "rss-invokes", 400, "invokes fed by the concurrent clients while peak RSS is measured")
	flag.StringVar(&o.benchTime, "bench-time", "1s", "-test.benchtime of each full-path benchmark run")
	flag.StringVar(&o.profileDir, "profile", "", "write CPU and allocation profiles of the full path (BenchmarkFullPath) into this directory")
	flag.BoolVar(&o.keepArtifacts, "keep", false, "keep the built executables (their directory is printed)")
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
	if flag.NArg() > 0 || o.reps < 1 || o.n < 1 || o.clients < 1 || o.perClient < 1 || o.round < 1 || o.coldRuns < 1 || o.warmup < 0 {
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

	// Builds first: compiling is the heaviest thing here, and nothing is timed while it runs.
	b, err := buildAll(ctx, o)
	if err != nil {
		return err
	}
	if o.keepArtifacts {
		progress("executables kept in %s", b.dir)
	} else {
		defer os.RemoveAll(b.dir)
	}

	var rows []row
	if o.runs("handler") {
		full, err := runFullPath(ctx, o, b.test)
		if err != nil {
			return err
		}
		rows = append(rows, full.rows()...)
		if o.profileDir != "" {
			if err := profileFullPath(ctx, o, b.test); err != nil {
				return err
			}
		}
	}
	if o.runs("e2e") || o.runs("cold") || o.runs("rss") {
		progress("starting make run's server")
		s, err := startStack(ctx, o, b.run, b.dir)
		if err != nil {
			return err
		}
		defer s.stop()
		if o.runs("e2e") {
			e2e, err := runEndToEnd(ctx, s, o)
			if err != nil {
				return err
			}
			rows = append(rows, e2e.rows()...)
		}
		if o.runs("cold") {
			cold, err := runColdStarts(ctx, s, b, o)
			if err != nil {
				return err
			}
			rows = append(rows, cold.rows()...)
		}
		if o.runs("rss") {
			rss, err := runPeakRSS(ctx, s, b, o)
			if err != nil {
				return err
			}
			rows = append(rows, rss.rows(o.clients)...)
		}
	}
	rows = append(rows, b.rows()...)
	machine.loadEnd = loadAverage()

	if o.jsonOut {
		if err := printJSON(os.Stdout, rows); err != nil {
			return err
		}
	} else {
		function := ""
		if o.function != functionPkg {
			function = " Function measured in the cold-start, size and memory rows: " + o.function + "."
		}
		fmt.Fprintf(os.Stdout, "Measured %s on %s, %d cores, %s; load average %s at start, %s at end. Flags: -reps %d -n %d -clients %d -per-client %d -cold-runs %d -bench-time %s; build flags %s.%s\n\n",
			machine.date, machine.cpu, machine.cores, machine.goVersion, machine.loadStart, machine.loadEnd,
			o.reps, o.n, o.clients, o.perClient, o.coldRuns, o.benchTime, strings.Join(b.flags, " "), function)
		printTable(os.Stdout, rows)
	}
	progress("done; load average %s", machine.loadEnd)
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
