package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sms-platform/phone-numbers/local/rie"
)

// coldCase is one kind of first event after a cold start.
type coldCase struct {
	name   string // suffix of the measure
	secret bool   // whether the event carries the key; without it, a 401 with no storage call
	status int
}

var (
	coldPatch        = coldCase{name: "", secret: true, status: 200}
	coldUnauthorized = coldCase{name: "-401", secret: false, status: 401}
)

// coldSample is one cold start: the bootstrap's process is started by the emulator on the
// first invoke, so the invoke's time includes the process start and init, but not the
// emulator's own start, which rie.Start waits out before.
type coldSample struct {
	invoke float64 // ms from sending the first invoke to its response, as the caller sees it
	report float64 // ms, Duration of the first invoke's REPORT line
	cpu    float64 // ms of CPU the bootstrap process used until its first response
}

// coldRep is one repetition's cold starts of both bootstraps for one case.
type coldRep struct {
	ours, minimal []coldSample
}

// coldResults are the repetitions of each case.
type coldResults struct {
	patch, unauthorized []coldRep
	runs                int
}

// runColdStarts runs o.reps repetitions; each starts the emulator o.coldRuns times with each
// bootstrap for each case, alternating which bootstrap goes first.
func runColdStarts(ctx context.Context, s *stack, b *builds, o options) (*coldResults, error) {
	progress("cold starts: %d repetitions of %d emulator starts of each bootstrap, for a PATCH and for a 401 without storage", o.reps, o.coldRuns)
	r := &coldResults{runs: o.coldRuns}
	for rep := range o.reps {
		for _, c := range []coldCase{coldPatch, coldUnauthorized} {
			var x coldRep
			for run := range o.coldRuns {
				for _, isOurs := range roundOrder(run) {
					bootstrap, into := b.oursHost, &x.ours
					if !isOurs {
						bootstrap, into = b.minimalHost, &x.minimal
					}
					sample, err := coldRun(ctx, s, o, bootstrap, c)
					if err != nil {
						return nil, fmt.Errorf("cold start of %s: %w", bootstrap, err)
					}
					*into = append(*into, sample)
				}
			}
			if c == coldPatch {
				r.patch = append(r.patch, x)
			} else {
				r.unauthorized = append(r.unauthorized, x)
			}
			progress("  repetition %d, %d: invoke to first response ours %.1f ms, minimal %.1f ms; REPORT %.1f vs %.1f ms; CPU %.2f vs %.2f ms (medians)",
				rep+1, c.status, medianOf(x.ours, coldInvoke), medianOf(x.minimal, coldInvoke),
				medianOf(x.ours, coldReport), medianOf(x.minimal, coldReport), medianOf(x.ours, coldCPU), medianOf(x.minimal, coldCPU))
		}
	}
	return r, nil
}

func coldInvoke(c coldSample) float64 { return c.invoke }
func coldReport(c coldSample) float64 { return c.report }
func coldCPU(c coldSample) float64    { return c.cpu }

// medianOf returns the median of one figure of the samples.
func medianOf(samples []coldSample, figure func(coldSample) float64) float64 {
	xs := make([]float64, len(samples))
	for i, c := range samples {
		xs[i] = figure(c)
	}
	return median(xs)
}

// perRep returns each repetition's median of one figure, ours and the minimal bootstrap's.
func perRep(reps []coldRep, figure func(coldSample) float64) (ours, minimal []float64) {
	for _, r := range reps {
		ours, minimal = append(ours, medianOf(r.ours, figure)), append(minimal, medianOf(r.minimal, figure))
	}
	return ours, minimal
}

// rows returns the cold-start rows.
func (r *coldResults) rows() []row {
	var out []row
	if len(r.patch) > 0 {
		ours, minimal := perRep(r.patch, coldInvoke)
		out = append(out, compared("cold-invoke", fmt.Sprintf("cold start against the equal-work minimal bootstrap: invoke to first response of a PATCH, median of %d per repetition", r.runs),
			unitMs, ours, minimal, targetColdInvoke))
		ours, minimal = perRep(r.patch, coldReport)
		out = append(out, compared("cold-invoke-report", "the same, by the emulator's REPORT Duration", unitMs, ours, minimal, nil))
		ours, minimal = perRep(r.patch, coldCPU)
		out = append(out, compared("cold-invoke-cpu", "the same, CPU time of the bootstrap process until its first response", unitMs, ours, minimal, nil))
	}
	if len(r.unauthorized) > 0 {
		ours, minimal := perRep(r.unauthorized, coldInvoke)
		out = append(out, compared("cold-invoke-401", "cold start, invoke to first response of a 401 without Authorization: no storage call on either side", unitMs, ours, minimal, nil))
	}
	return out
}

// coldRun starts the emulator with bootstrap, waits until it listens, and times the first invoke.
func coldRun(ctx context.Context, s *stack, o options, bootstrap string, c coldCase) (coldSample, error) {
	out := newReportWriter()
	if o.verbose {
		out.copyTo = os.Stderr
	}
	em, err := rie.Start(ctx, rie.Options{
		RIE: o.rie, Bootstrap: bootstrap, Env: rie.FunctionEnv(s.dynamoEndpoint, s.tables),
		Output: out, LogLevel: "error",
	})
	if err != nil {
		return coldSample{}, err
	}
	defer em.Stop()
	secret := ""
	if c.secret {
		secret = s.secret
	}
	event, err := patchEvent(secret, s.items[0], s.nextLabel())
	if err != nil {
		return coldSample{}, err
	}
	start := time.Now()
	payload, err := em.Invoke(ctx, event)
	took := time.Since(start)
	if err != nil {
		return coldSample{}, err
	}
	if err := checkStatus(payload, c.status); err != nil {
		return coldSample{}, err
	}
	sample := coldSample{invoke: float64(took.Microseconds()) / 1000}
	pid, err := findProcess(bootstrap)
	if err != nil {
		return coldSample{}, err
	}
	if sample.cpu, err = processCPU(pid); err != nil {
		return coldSample{}, err
	}
	if sample.report, err = out.next(5 * time.Second); err != nil {
		return coldSample{}, fmt.Errorf("%w; emulator output:\n%s", err, out.output())
	}
	if o.verbose {
		progress("  %s: first response after %.1f ms, REPORT Duration %.1f ms", filepath.Base(filepath.Dir(bootstrap)), sample.invoke, sample.report)
	}
	return sample, nil
}

// reportLine is the emulator's REPORT line of one invoke. Its Init Duration, when present, only
// times the call that launches the bootstrap.
var reportLine = regexp.MustCompile(`^REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)

// reportWriter receives the emulator's output: it passes on the Duration of each REPORT line.
type reportWriter struct {
	mu      sync.Mutex
	partial []byte
	all     bytes.Buffer
	reports chan float64
	copyTo  io.Writer
}

func newReportWriter() *reportWriter { return &reportWriter{reports: make(chan float64, 1024)} }

func (w *reportWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.copyTo != nil {
		_, _ = w.copyTo.Write(p)
	}
	if w.all.Len() < 1<<20 {
		w.all.Write(p)
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		w.partial = w.partial[i+1:]
		if m := reportLine.FindSubmatch(line); m != nil {
			d, _ := strconv.ParseFloat(string(m[1]), 64)
			w.reports <- d
		}
	}
	return len(p), nil
}

// next returns the Duration of the next REPORT line.
func (w *reportWriter) next(timeout time.Duration) (float64, error) {
	select {
	case d := <-w.reports:
		return d, nil
	case <-time.After(timeout):
		return 0, errors.New("no REPORT line from the emulator")
	}
}

func (w *reportWriter) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// rssResults are the peak resident set sizes of the bootstrap processes, in bytes.
type rssResults struct {
	ours, minimal int64
	invokes       int
}

// runPeakRSS runs each bootstrap under the emulator while o.clients clients feed it
// o.rssInvokes invokes in all, and reads the bootstrap process's VmHWM. The emulator, like a
// Lambda execution environment, hands the function one event at a time, so the clients'
// invokes are serialized (rie.Emulator does it; the emulator panics on concurrent invokes).
func runPeakRSS(ctx context.Context, s *stack, b *builds, o options) (*rssResults, error) {
	progress("peak RSS: %d invokes from %d clients into each bootstrap", o.rssInvokes, o.clients)
	r := &rssResults{invokes: o.rssInvokes}
	for _, x := range []struct {
		bootstrap string
		into      *int64
	}{{b.oursHost, &r.ours}, {b.minimalHost, &r.minimal}} {
		hwm, err := peakRSS(ctx, s, o, x.bootstrap)
		if err != nil {
			return nil, fmt.Errorf("peak RSS of %s: %w", x.bootstrap, err)
		}
		*x.into = hwm
	}
	progress("  ours %.1f MB, minimal %.1f MB", float64(r.ours)/1e6, float64(r.minimal)/1e6)
	return r, nil
}

func peakRSS(ctx context.Context, s *stack, o options, bootstrap string) (int64, error) {
	em, err := rie.Start(ctx, rie.Options{
		RIE: o.rie, Bootstrap: bootstrap, Env: rie.FunctionEnv(s.dynamoEndpoint, s.tables), LogLevel: "error",
	})
	if err != nil {
		return 0, err
	}
	defer em.Stop()
	invoke := func(item string) error {
		event, err := patchEvent(s.secret, item, s.nextLabel())
		if err != nil {
			return err
		}
		payload, err := em.Invoke(ctx, event)
		if err != nil {
			return err
		}
		return checkStatus(payload, 200)
	}
	// The first invoke starts the bootstrap.
	if err := invoke(s.items[0]); err != nil {
		return 0, err
	}
	pid, err := findProcess(bootstrap)
	if err != nil {
		return 0, err
	}
	per := max(o.rssInvokes/o.clients, 1)
	errs := make([]error, o.clients)
	var wg sync.WaitGroup
	for c := range o.clients {
		wg.Go(func() {
			for range per {
				if errs[c] = invoke(s.items[c]); errs[c] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	return vmHWM(pid)
}

// findProcess returns the pid of the one process running the executable path.
func findProcess(path string) (int, error) {
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		return 0, err
	}
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	var found []int
	for _, exe := range exes {
		if target, err := os.Readlink(exe); err == nil && target == want {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(exe)))
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("found %d processes running %s, want 1", len(found), want)
	}
	return found[0], nil
}

// processCPU returns the CPU time process pid has used so far, summed over its threads, in
// milliseconds, from the scheduler's nanosecond counters (/proc/PID/task/TID/schedstat).
func processCPU(pid int) (float64, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(stats) == 0 {
		return 0, fmt.Errorf("no schedstat for process %d", pid)
	}
	var ns int64
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // a thread that just exited
		}
		fields := strings.Fields(string(data))
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", path, err)
		}
		ns += n
	}
	return float64(ns) / 1e6, nil
}

// vmHWM reads the peak resident set size of process pid from /proc, in bytes.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/status")
}

// rows returns the peak RSS row.
func (r *rssResults) rows(clients int) []row {
	return []row{compared("peak-rss", fmt.Sprintf("peak RSS (VmHWM) of the bootstrap, %d PATCHes from %d clients", r.invokes, clients),
		unitBytes, []float64{float64(r.ours)}, []float64{float64(r.minimal)}, nil)}
}
