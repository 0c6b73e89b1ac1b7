package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The targets. They live here, in the bench's output, and nowhere in the tests.
const (
	targetHandlerNs      = 30_000 // per successful request, in process
	targetHandlerAllocs  = 150
	targetE2ERatio       = 1.15 // p50 against the floor, sequential and concurrent
	targetColdStartRatio = 1.3  // against the minimal bootstrap
	targetFirstRatio     = 2.0  // first request against a warm one
	targetBootstrapBytes = 10_000_000
)

type results struct {
	handler map[string]benchResult
	builds  *builds
	seq     *pair
	conc    *pair
	cold    *coldResults
	rss     *rssResults
}

type row struct {
	measure, ours, reference, ratio, target, met string
}

func printTable(w io.Writer, m machine, o options, r results) {
	var rows []row
	add := func(x row) { rows = append(rows, x) }

	for i, b := range handlerBenchmarks {
		if r.handler == nil {
			break
		}
		h := r.handler[b.name]
		x := row{
			measure:   fmt.Sprintf("Handler overhead, %s (in process, instant storage stubs; ns/op · B/op · allocs/op)", b.label),
			ours:      fmt.Sprintf("%s µs · %s B · %.0f allocs", fmtFloat(h.nsPerOp/1000, 1), fmtInt(int64(h.bytesPerOp)), h.allocsPerOp),
			reference: "—", ratio: "—", target: "—", met: "—",
		}
		if i == 0 {
			x.target = fmt.Sprintf("< %d µs and < %d allocs", targetHandlerNs/1000, targetHandlerAllocs)
			x.met = met(h.nsPerOp < targetHandlerNs && h.allocsPerOp < targetHandlerAllocs)
		}
		add(x)
	}

	for _, p := range []*pair{r.seq, r.conc} {
		if p == nil {
			continue
		}
		what := "sequential"
		if p.clients > 1 {
			what = fmt.Sprintf("%d concurrent clients", p.clients)
		}
		n := len(p.ours.all)
		ratio := ms(p.ours.percentile(0.5)) / ms(p.floor.percentile(0.5))
		add(row{
			measure:   fmt.Sprintf("End to end p50, %s (%d PATCHes; reference: floor, bare GetItem + UpdateItem)", what, n),
			ours:      fmtMs(p.ours.percentile(0.5)),
			reference: fmtMs(p.floor.percentile(0.5)),
			ratio:     fmtRatio(ratio), target: fmt.Sprintf("≤ %.2fx", targetE2ERatio), met: met(ratio <= targetE2ERatio),
		})
		add(row{
			measure:   fmt.Sprintf("End to end p99, %s", what),
			ours:      fmtMs(p.ours.percentile(0.99)),
			reference: fmtMs(p.floor.percentile(0.99)),
			ratio:     fmtRatio(ms(p.ours.percentile(0.99)) / ms(p.floor.percentile(0.99))), target: "—", met: "—",
		})
		if p.clients > 1 {
			add(row{
				measure:   fmt.Sprintf("Throughput, %s", what),
				ours:      fmt.Sprintf("%s req/s", fmtInt(int64(p.ours.throughput()))),
				reference: fmt.Sprintf("%s req/s", fmtInt(int64(p.floor.throughput()))),
				ratio:     fmtRatio(p.ours.throughput() / p.floor.throughput()), target: "—", met: "—",
			})
		}
	}

	if r.cold != nil {
		addColdRows(add, r.cold)
	}

	b := r.builds
	add(row{
		measure:   "arm64 bootstrap size (reference: minimal bootstrap)",
		ours:      fmtBytes(b.oursSize),
		reference: fmtBytes(b.minimalSize),
		ratio:     fmtRatio(float64(b.oursSize) / float64(b.minimalSize)),
		target:    "< " + fmtBytes(targetBootstrapBytes), met: met(b.oursSize < targetBootstrapBytes),
	})
	add(row{
		measure:   "arm64 deployment zip (deflate)",
		ours:      fmtBytes(b.oursZipSize),
		reference: fmtBytes(b.minimalZipSize),
		ratio:     fmtRatio(float64(b.oursZipSize) / float64(b.minimalZipSize)), target: "—", met: "—",
	})
	if r.rss != nil {
		add(row{
			measure:   fmt.Sprintf("Peak RSS (VmHWM) of the bootstrap, %d invokes from %d clients", r.rss.invokes, o.clients),
			ours:      fmt.Sprintf("%s MB", fmtFloat(float64(r.rss.ours)/1e6, 1)),
			reference: fmt.Sprintf("%s MB", fmtFloat(float64(r.rss.minimal)/1e6, 1)),
			ratio:     fmtRatio(float64(r.rss.ours) / float64(r.rss.minimal)), target: "—", met: "—",
		})
	}

	function := ""
	if o.function != functionPkg {
		function = " Function measured: " + o.function + "."
	}
	fmt.Fprintf(w, "Measured %s on %s, %d cores, %s; load average %s at start, %s at end. Flags: -n %d -clients %d -per-client %d -cold-runs %d; build flags %s.%s\n\n",
		m.date, m.cpu, m.cores, m.goVersion, m.loadStart, m.loadEnd, o.n, o.clients, o.perClient, o.coldRuns, strings.Join(b.flags, " "), function)
	fmt.Fprintln(w, "| measure | ours | reference | ratio | target | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	for _, x := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", x.measure, x.ours, x.reference, x.ratio, x.target, x.met)
	}
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func fmtMs(d time.Duration) string { return fmtFloat(ms(d), 2) + " ms" }

func fmtMsFloat(x float64, prec int) string { return fmtFloat(x, prec) + " ms" }

func fmtRatio(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) + "x" }

func fmtFloat(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }

func fmtBytes(n int64) string {
	return fmt.Sprintf("%s MB (%s B)", fmtFloat(float64(n)/1e6, 2), fmtInt(n))
}

// fmtInt writes n with thousands separators.
func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// addColdRows adds the cold-start rows.
func addColdRows(add func(row), c *coldResults) {
	startRatio := median(slices.Clone(c.oursStart)) / median(slices.Clone(c.minimalStart))
	add(row{
		measure:   fmt.Sprintf("Cold start: emulator start to first response, median of %d (reference: minimal aws-lambda-go bootstrap)", len(c.oursStart)),
		ours:      fmtMsFloat(median(slices.Clone(c.oursStart)), 1),
		reference: fmtMsFloat(median(slices.Clone(c.minimalStart)), 1),
		ratio:     fmtRatio(startRatio), target: fmt.Sprintf("≤ %.1fx", targetColdStartRatio), met: met(startRatio <= targetColdStartRatio),
	})
	add(row{
		measure:   "Cold invoke: bootstrap start, init and first event (emulator REPORT Duration), median",
		ours:      fmtMsFloat(median(slices.Clone(c.oursColdInvoke)), 1),
		reference: fmtMsFloat(median(slices.Clone(c.minimalColdInvoke)), 1),
		ratio:     fmtRatio(median(slices.Clone(c.oursColdInvoke)) / median(slices.Clone(c.minimalColdInvoke))), target: "—", met: "—",
	})
	add(row{
		measure:   "Cold start CPU: CPU time of the bootstrap process until its first response, median (waiting not counted)",
		ours:      fmtMsFloat(median(slices.Clone(c.oursColdCPU)), 2),
		reference: fmtMsFloat(median(slices.Clone(c.minimalColdCPU)), 2),
		ratio:     fmtRatio(median(slices.Clone(c.oursColdCPU)) / median(slices.Clone(c.minimalColdCPU))), target: "—", met: "—",
	})
	firstRatio := median(slices.Clone(c.oursFirst)) / median(slices.Clone(c.oursWarm))
	add(row{
		measure:   fmt.Sprintf("First request after a cold start, handler duration, median of %d (reference: warm request, median of %d)", len(c.oursFirst), len(c.oursWarm)),
		ours:      fmtMsFloat(median(slices.Clone(c.oursFirst)), 2),
		reference: fmtMsFloat(median(slices.Clone(c.oursWarm)), 2),
		ratio:     fmtRatio(firstRatio), target: fmt.Sprintf("≤ %.0fx", targetFirstRatio), met: met(firstRatio <= targetFirstRatio),
	})

}
