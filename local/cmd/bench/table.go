package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The targets of issue 14. They live here, in the bench's output, and nowhere in the tests.
var (
	targetE2EP50       = &target{of: ofRatio, op: atMost, value: 1.3}
	targetThroughput   = &target{of: ofRatio, op: atLeast, value: 0.7}
	targetColdInvoke   = &target{of: ofRatio, op: atMost, value: 1.3}
	targetHandlerAlloc = &target{of: ofOurs, op: atMost, value: 600}
	targetBootstrap    = &target{of: ofOurs, op: below, value: 10_000_000}
)

// What a target constrains, and how.
const (
	ofRatio = "ratio"
	ofOurs  = "ours"

	atMost  = "<="
	below   = "<"
	atLeast = ">="
)

// target is a bound on a row's ratio or on its own figure.
type target struct {
	of, op string
	value  float64
}

// met reports whether the whole measured range meets the target: every repetition's figure, not
// only the median.
func (t *target) met(r row) bool {
	s := r.ours
	if t.of == ofRatio {
		if r.ratio == nil {
			return false
		}
		s = *r.ratio
	}
	if s.n == 0 {
		return false
	}
	switch t.op {
	case atMost:
		return s.max <= t.value
	case below:
		return s.max < t.value
	case atLeast:
		return s.min >= t.value
	}
	return false
}

// String writes the target as the JSON shows it: "<= 1.3x", ">= 0.7x", "<= 600".
func (t *target) String() string {
	v := strconv.FormatFloat(t.value, 'f', -1, 64)
	if t.of == ofRatio {
		return t.op + " " + v + "x"
	}
	return t.op + " " + v
}

// markdown writes the target for the table, an absolute one in the row's unit: "≤ 1.3x", "< 10.00 MB".
func (t *target) markdown(unit string) string {
	op := strings.NewReplacer("<=", "≤", ">=", "≥").Replace(t.op)
	if t.of == ofRatio {
		return op + " " + strconv.FormatFloat(t.value, 'f', -1, 64) + "x"
	}
	return op + " " + fmtValue(t.value, unit)
}

// Units of the rows' figures.
const (
	unitMs     = "ms"
	unitReqS   = "req/s"
	unitNs     = "ns/op"
	unitBytes  = "B"
	unitAllocs = "allocs"
)

// row is one measure: ours, the reference, their ratio (each the median of the repetitions,
// with its range) and the target, if any.
type row struct {
	measure     string // stable name, e.g. e2e-p50-sequential
	description string // what it is, in a few words; README.md says more
	unit        string
	ours        summary
	reference   *summary
	// ratio summarizes each repetition's ours/reference: the median of the ratios, not the ratio
	// of the medians.
	ratio  *summary
	target *target
}

// compared returns a row whose ratio is taken per repetition: ours[i] / reference[i].
func compared(measure, description, unit string, ours, reference []float64, t *target) row {
	ratios := make([]float64, 0, len(ours))
	for i := range min(len(ours), len(reference)) {
		if reference[i] != 0 {
			ratios = append(ratios, ours[i]/reference[i])
		}
	}
	ref, ratio := summarize(reference), summarize(ratios)
	return row{measure: measure, description: description, unit: unit, ours: summarize(ours), reference: &ref, ratio: &ratio, target: t}
}

// met is the row's verdict: nil without a target.
func (r row) met() *bool {
	if r.target == nil {
		return nil
	}
	ok := r.target.met(r)
	return &ok
}

// jsonRow is a row as -json prints it, one object per line.
type jsonRow struct {
	Measure     string   `json:"measure"`
	Unit        string   `json:"unit"`
	Ours        float64  `json:"ours"`
	OursMin     float64  `json:"ours_min"`
	OursMax     float64  `json:"ours_max"`
	Reference   *float64 `json:"reference"`
	Ratio       *float64 `json:"ratio"`
	RatioMin    *float64 `json:"ratio_min"`
	RatioMax    *float64 `json:"ratio_max"`
	Target      *string  `json:"target"`
	Met         *bool    `json:"met"`
	Repetitions int      `json:"repetitions"`
	Description string   `json:"description"`
}

// printJSON writes one JSON object per row.
func printJSON(w io.Writer, rows []row) error {
	enc := json.NewEncoder(w)
	for _, r := range rows {
		j := jsonRow{
			Measure: r.measure, Unit: r.unit, Description: r.description,
			Ours: r.ours.median, OursMin: r.ours.min, OursMax: r.ours.max,
			Repetitions: r.ours.n, Met: r.met(),
		}
		if r.reference != nil {
			j.Reference = &r.reference.median
		}
		if r.ratio != nil && r.ratio.n > 0 {
			j.Ratio, j.RatioMin, j.RatioMax = &r.ratio.median, &r.ratio.min, &r.ratio.max
		}
		if r.target != nil {
			s := r.target.String()
			j.Target = &s
		}
		if err := enc.Encode(j); err != nil {
			return err
		}
	}
	return nil
}

// printTable writes the rows as a Markdown table.
func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| measure | what | ours | reference | ratio (min–max) | target | met |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---|---|")
	for _, r := range rows {
		ref, ratio, tgt, met := "—", "—", "—", "—"
		if r.reference != nil {
			ref = fmtValue(r.reference.median, r.unit)
		}
		if r.ratio != nil && r.ratio.n > 0 {
			ratio = fmtRatio(r.ratio.median)
			if r.ratio.n > 1 {
				ratio += " (" + fmtFloat(r.ratio.min, 2) + "–" + fmtFloat(r.ratio.max, 2) + ")"
			}
		}
		if r.target != nil {
			tgt = r.target.markdown(r.unit)
		}
		if m := r.met(); m != nil {
			met = "yes"
			if !*m {
				met = "**no**"
			}
		}
		ours := fmtValue(r.ours.median, r.unit)
		if r.target != nil && r.target.of == ofOurs && r.ours.n > 1 {
			ours += " (" + fmtValue(r.ours.min, r.unit) + "–" + fmtValue(r.ours.max, r.unit) + ")"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s | %s | %s |\n", r.measure, r.description, ours, ref, ratio, tgt, met)
	}
}

// fmtValue writes a figure in its unit, rounded as far as the measurement is meaningful.
func fmtValue(x float64, unit string) string {
	switch unit {
	case unitMs:
		return fmtFloat(x, 2) + " ms"
	case unitReqS:
		return fmtInt(int64(x+0.5)) + " req/s"
	case unitNs:
		return fmtFloat(x/1000, 1) + " µs"
	case unitBytes:
		if x >= 1e6 {
			return fmtFloat(x/1e6, 2) + " MB"
		}
		return fmtInt(int64(x+0.5)) + " B"
	case unitAllocs:
		return fmtInt(int64(x + 0.5))
	}
	return fmtFloat(x, 2) + " " + unit
}

func fmtRatio(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) + "x" }

func fmtFloat(x float64, prec int) string { return strconv.FormatFloat(x, 'f', prec, 64) }

// fmtInt writes n with thousands separators.
func fmtInt(n int64) string {
	if n < 0 {
		return "-" + fmtInt(-n)
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
