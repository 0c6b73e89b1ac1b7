package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sms-platform/phone-numbers/local/rie"
)

// coldResults are the emulator runs of both bootstraps, in milliseconds.
type coldResults struct {
	// Start is the time from starting the emulator to the first response: the emulator's own
	// start, the bootstrap's start and init, and the first event.
	oursStart, minimalStart []float64
	// ColdInvoke is the Duration of the first invoke's REPORT line: the emulator starts the
	// bootstrap on the first invoke (its "Init Duration" only times the call that launches it),
	// so this is the bootstrap's start, init and first event, without the emulator's own start.
	oursColdInvoke, minimalColdInvoke []float64
	// First and warm are our handler's own duration (duration_ms of its log line) for the first
	// event after a cold start and for the warm ones after it.
	oursFirst, oursWarm []float64
	// ColdCPU is the CPU time the bootstrap process used until its first response: the work of
	// ColdInvoke without its waits, so it depends little on what else runs on the machine.
	oursColdCPU, minimalColdCPU []float64
}

// runColdStarts starts the emulator o.coldRuns times with each bootstrap, alternating which goes
// first, and times each until its first response. After each cold start of ours it sends
// o.warmInvokes more PATCHes, for the first-against-warm comparison.
func runColdStarts(ctx context.Context, e *env, b *builds, o options) (*coldResults, error) {
	progress("cold starts: %d emulator starts of each bootstrap, %d warm invokes after each of ours", o.coldRuns, o.warmInvokes)
	r := &coldResults{}
	for run := range o.coldRuns {
		for _, isOurs := range roundOrder(run) {
			bootstrap, warm := b.oursHost, o.warmInvokes
			if !isOurs {
				bootstrap, warm = b.minimalHost, 0
			}
			c, err := coldRun(ctx, e, o, bootstrap, warm)
			if err != nil {
				return nil, fmt.Errorf("cold start of %s: %w", bootstrap, err)
			}
			if !isOurs {
				r.minimalStart = append(r.minimalStart, c.startToFirst)
				r.minimalColdInvoke = append(r.minimalColdInvoke, c.reports[0])
				r.minimalColdCPU = append(r.minimalColdCPU, c.coldCPU)
				continue
			}
			r.oursColdCPU = append(r.oursColdCPU, c.coldCPU)
			if len(c.handler) != 1+warm {
				return nil, fmt.Errorf("cold start of %s: %d request log lines for %d invokes", bootstrap, len(c.handler), 1+warm)
			}
			r.oursStart = append(r.oursStart, c.startToFirst)
			r.oursColdInvoke = append(r.oursColdInvoke, c.reports[0])
			r.oursFirst = append(r.oursFirst, c.handler[0])
			r.oursWarm = append(r.oursWarm, c.handler[1:]...)
		}
	}
	progress("  start to first response: ours %.1f ms, minimal %.1f ms; cold invoke ours %.1f ms, minimal %.1f ms; CPU to first response ours %.2f ms, minimal %.2f ms; handler first %.2f ms, warm %.2f ms (medians)",
		median(slices.Clone(r.oursStart)), median(slices.Clone(r.minimalStart)), median(slices.Clone(r.oursColdInvoke)), median(slices.Clone(r.minimalColdInvoke)),
		median(slices.Clone(r.oursColdCPU)), median(slices.Clone(r.minimalColdCPU)), median(slices.Clone(r.oursFirst)), median(slices.Clone(r.oursWarm)))
	return r, nil
}

type coldRunResult struct {
	startToFirst float64   // ms
	coldCPU      float64   // ms
	reports      []float64 // REPORT Duration of each invoke, ms
	handler      []float64 // duration_ms of each request log line of ours
}

// coldRun starts the emulator with bootstrap, invokes it 1+warm times and stops it.
func coldRun(ctx context.Context, e *env, o options, bootstrap string, warm int) (*coldRunResult, error) {
	out := newReportWriter()
	if o.verbose {
		out.copyTo = os.Stderr
	}
	start := time.Now()
	em, err := rie.Start(ctx, rie.Options{
		RIE: o.rie, Bootstrap: bootstrap, Env: rie.FunctionEnv(e.engine.Endpoint, e.tables),
		Output: out, LogLevel: "error",
	})
	if err != nil {
		return nil, err
	}
	defer em.Stop()
	listening := time.Since(start)
	r := &coldRunResult{}
	for i := range 1 + warm {
		event, err := e.event(e.items[0])
		if err != nil {
			return nil, err
		}
		payload, err := em.Invoke(ctx, event)
		if i == 0 {
			r.startToFirst = float64(time.Since(start).Microseconds()) / 1000
		}
		if err != nil {
			return nil, err
		}
		if err := checkInvokeResponse(payload); err != nil {
			return nil, err
		}
		if i == 0 {
			pid, err := findProcess(bootstrap)
			if err != nil {
				return nil, err
			}
			if r.coldCPU, err = processCPU(pid); err != nil {
				return nil, err
			}
		}
		d, err := out.next(5 * time.Second)
		if err != nil {
			return nil, fmt.Errorf("%w; emulator output:\n%s", err, out.output())
		}
		r.reports = append(r.reports, d)
		if i == 0 && o.verbose {
			progress("  %s: emulator listening after %s, first response after %.1f ms, REPORT Duration %.1f ms",
				filepath.Base(filepath.Dir(bootstrap)), listening.Round(time.Microsecond), r.startToFirst, d)
		}
	}
	r.handler = out.requestDurations()
	return r, nil
}

// event returns an HTTP API event PATCHing item id with a label never sent before.
func (e *env) event(id string) ([]byte, error) {
	body := `{"label":"` + e.nextLabel() + `"}`
	path := "/v1/phone-numbers/" + id
	ev := events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "PATCH /v1/phone-numbers/{id}",
		RawPath:  path,
		Headers: map[string]string{
			"authorization":  "Bearer " + e.secret,
			"content-type":   "application/json",
			"content-length": strconv.Itoa(len(body)),
			"host":           "bench.execute-api.us-east-1.amazonaws.com",
		},
		PathParameters: map[string]string{"id": id},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  "PATCH /v1/phone-numbers/{id}",
			AccountID: "000000000000",
			Stage:     "$default",
			RequestID: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36),
			APIID:     "bench",
			HTTP:      events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "PATCH", Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1"},
			TimeEpoch: time.Now().UnixMilli(),
		},
		Body: body,
	}
	return json.Marshal(ev)
}

// checkInvokeResponse checks that the function answered 200.
func checkInvokeResponse(payload []byte) error {
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("decode response %s: %w", payload, err)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("the function answered %d: %s", resp.StatusCode, resp.Body)
	}
	return nil
}

// reportLine is the emulator's REPORT line of one invoke. Its Init Duration, when present, only
// times the call that launches the bootstrap.
var reportLine = regexp.MustCompile(`^REPORT RequestId: \S+\s+(?:Init Duration: [0-9.]+ ms\s+)?Duration: ([0-9.]+) ms`)

// reportWriter receives the emulator's output: it passes on the Duration of each REPORT line, and
// keeps the duration_ms of the function's request log lines.
type reportWriter struct {
	mu       sync.Mutex
	partial  []byte
	all      bytes.Buffer
	reports  chan float64
	requests []float64
	copyTo   io.Writer
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
			continue
		}
		var entry struct {
			Msg        string   `json:"msg"`
			DurationMS *float64 `json:"duration_ms"`
		}
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &entry) == nil && entry.Msg == "request" && entry.DurationMS != nil {
			w.requests = append(w.requests, *entry.DurationMS)
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

// requestDurations returns the duration_ms of the request log lines seen so far. The function
// writes its line before answering, and the emulator copies it out before its REPORT line.
func (w *reportWriter) requestDurations() []float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.requests)
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
func runPeakRSS(ctx context.Context, e *env, b *builds, o options) (*rssResults, error) {
	progress("peak RSS: %d invokes from %d clients into each bootstrap", o.rssInvokes, o.clients)
	r := &rssResults{invokes: o.rssInvokes}
	for _, x := range []struct {
		bootstrap string
		into      *int64
	}{{b.oursHost, &r.ours}, {b.minimalHost, &r.minimal}} {
		hwm, err := peakRSS(ctx, e, o, x.bootstrap)
		if err != nil {
			return nil, fmt.Errorf("peak RSS of %s: %w", x.bootstrap, err)
		}
		*x.into = hwm
	}
	progress("  ours %.1f MB, minimal %.1f MB", float64(r.ours)/1e6, float64(r.minimal)/1e6)
	return r, nil
}

func peakRSS(ctx context.Context, e *env, o options, bootstrap string) (int64, error) {
	em, err := rie.Start(ctx, rie.Options{
		RIE: o.rie, Bootstrap: bootstrap, Env: rie.FunctionEnv(e.engine.Endpoint, e.tables), LogLevel: "error",
	})
	if err != nil {
		return 0, err
	}
	defer em.Stop()
	invoke := func(item string) error {
		event, err := e.event(item)
		if err != nil {
			return err
		}
		payload, err := em.Invoke(ctx, event)
		if err != nil {
			return err
		}
		return checkInvokeResponse(payload)
	}
	// The first invoke starts the bootstrap.
	if err := invoke(e.items[0]); err != nil {
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
				if errs[c] = invoke(e.items[c]); errs[c] != nil {
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
