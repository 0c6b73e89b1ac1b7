package main

import (
	"math"
	"slices"
	"time"
)

// summary is a figure measured in several repetitions: the median of the repetitions and their
// range.
type summary struct {
	median, min, max float64
	n                int
}

// summarize returns the median and range of xs; the zero summary for none.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	return summary{median: median(slices.Clone(xs)), min: slices.Min(xs), max: slices.Max(xs), n: len(xs)}
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

// latencies are one side's measured requests in one repetition.
type latencies struct {
	all  []time.Duration
	wall time.Duration // the time the side's rounds took, for throughput
}

// percentile returns the nearest-rank percentile p (0 < p <= 1).
func (l *latencies) percentile(p float64) time.Duration {
	if len(l.all) == 0 {
		return 0
	}
	s := slices.Clone(l.all)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// throughput is the side's requests per second of its own rounds' wall time.
func (l *latencies) throughput() float64 {
	if l.wall <= 0 {
		return 0
	}
	return float64(len(l.all)) / l.wall.Seconds()
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// roundOrder alternates which side runs first, ours (true) or the reference: ours first in even
// rounds, the reference first in odd ones, so that drift in the machine's load falls on both.
func roundOrder(round int) []bool {
	if round%2 == 0 {
		return []bool{true, false}
	}
	return []bool{false, true}
}
