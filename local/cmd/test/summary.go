package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sms-platform/phone-numbers/local/pytools"
	"github.com/sms-platform/phone-numbers/local/testenv"
)

// summarize prints, at the end where it cannot scroll away: each phase's counts and time, every
// failure, every part skipped for a missing tool with how many tests it held and how to install
// the tool, other skips by reason, and the closing count. It returns the exit code.
func summarize(results []*phaseResult, missing []pytools.Tool) int {
	fmt.Println()
	fmt.Println("Summary")
	var passed, failed, skipped int
	for _, r := range results {
		p, f, s := r.counts()
		passed, failed, skipped = passed+p, failed+f, skipped+s
		fmt.Printf("  %-24s %5d passed %3d failed %4d skipped  %3d packages  %s\n", r.name, p, f, s, r.packages, r.elapsed.Round(100_000_000))
	}

	var failures []string
	for _, r := range results {
		for _, t := range r.tests {
			if t.action == "fail" {
				failures = append(failures, fmt.Sprintf("%s: %s %s", r.name, t.pkg, t.name))
			}
		}
		for _, c := range r.checks {
			if c.failed {
				failures = append(failures, fmt.Sprintf("%s: %s", r.name, c.name))
			}
		}
	}
	if len(failures) > 0 {
		fmt.Println("\nFailed (output above):")
		for _, f := range failures {
			fmt.Println("  " + f)
		}
	}

	// Skips, grouped: for a missing tool, by tool; the dynalite-only tests of the moto phase are
	// expected; anything else by its reason.
	type group struct {
		phases map[string]int
		total  int
	}
	byTool := map[string]*group{}
	others := map[string]int{}
	expected := 0
	for _, r := range results {
		for _, t := range r.tests {
			if t.action != "skip" {
				continue
			}
			tool := missingTool(t.reason)
			switch {
			case tool != "":
				g := byTool[tool]
				if g == nil {
					g = &group{phases: map[string]int{}}
					byTool[tool] = g
				}
				g.phases[r.name]++
				g.total++
			case strings.HasPrefix(t.reason, testenv.DynaliteOnly):
				expected++
			default:
				others[t.reason]++
			}
		}
		for _, c := range r.checks {
			if tool := missingTool(c.skipped); tool != "" {
				g := byTool[tool]
				if g == nil {
					g = &group{phases: map[string]int{}}
					byTool[tool] = g
				}
				g.phases[r.name+" ("+c.name+")"]++
				g.total++
			}
		}
	}
	for _, t := range missing {
		if byTool[t.Command] == nil {
			byTool[t.Command] = &group{phases: map[string]int{}}
		}
	}
	if len(byTool) > 0 {
		fmt.Println("\nSkipped because a tool is missing:")
		for _, t := range pytools.All {
			g := byTool[t.Command]
			if g == nil {
				continue
			}
			var where []string
			for _, ph := range slices.Sorted(maps.Keys(g.phases)) {
				where = append(where, fmt.Sprintf("%s: %d", ph, g.phases[ph]))
			}
			fmt.Printf("  %s: %d tests skipped (%s)%s\n", t.Command, g.total, strings.Join(where, "; "), heldElsewhere(results, t))
			fmt.Printf("    to install: %s\n", t.InstallHint())
		}
	}
	if len(others) > 0 {
		fmt.Println("\nSkipped for other reasons:")
		for _, reason := range slices.Sorted(maps.Keys(others)) {
			fmt.Printf("  %d: %s\n", others[reason], reason)
		}
	}
	if expected > 0 {
		fmt.Printf("\n(%d dynalite-only tests skipped in the moto phase ran in the dynalite phase.)\n", expected)
	}
	fmt.Println()
	fmt.Printf("test: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 {
		return 1
	}
	return 0
}

// missingTool returns the tool a skip reason says is missing, as pytools.Tool.Missing words it,
// anywhere in the reason (a test may say what it was doing first, as the deploy rehearsal does);
// "" for any other reason.
func missingTool(reason string) string {
	for _, t := range pytools.All {
		if strings.Contains(reason, t.Command+" is missing (needed for ") {
			return t.Command
		}
	}
	return ""
}

// heldElsewhere tells, for moto, how many tests and subtests the same engine tests ran on
// dynalite: what the skipped moto run would have held.
func heldElsewhere(results []*phaseResult, t pytools.Tool) string {
	if t != pytools.Moto {
		return ""
	}
	for _, r := range results {
		if r.name != "integration on dynalite" {
			continue
		}
		n := 0
		for _, res := range r.tests {
			if slices.Contains(strings.Split(res.name, "/"), "dynalite") {
				n++
			}
		}
		return fmt.Sprintf("; on dynalite the same tests ran %d tests and subtests", n)
	}
	return ""
}
