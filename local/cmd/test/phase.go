package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sms-platform/phone-numbers/local/testenv"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// testResult is the outcome of one test or subtest.
type testResult struct {
	pkg, name string
	action    string // pass, fail or skip
	reason    string // for a skip: the message given to t.Skip
	output    string // for a failure: everything the test printed
}

// phaseResult is what a phase ran.
type phaseResult struct {
	name     string
	elapsed  time.Duration
	packages int
	tests    []testResult
	checks   []checkResult
}

func (r *phaseResult) add(c checkResult) { r.checks = append(r.checks, c) }

// counts returns how many tests and checks passed, failed and were skipped.
func (r *phaseResult) counts() (passed, failed, skipped int) {
	for _, t := range r.tests {
		switch t.action {
		case "pass":
			passed++
		case "fail":
			failed++
		case "skip":
			skipped++
		}
	}
	for _, c := range r.checks {
		switch {
		case c.failed:
			failed++
		case c.skipped != "":
			skipped++
		default:
			passed++
		}
	}
	return passed, failed, skipped
}

// runPhase runs the phase's tests in every package that has some, a few binaries at a time.
func runPhase(ctx context.Context, ph phase, pkgs []*testPackage, env []string) *phaseResult {
	start := time.Now()
	result := &phaseResult{name: ph.name}
	type job struct {
		pkg   *testPackage
		tests []string
		env   []string
	}
	var jobs []job
	for _, p := range pkgs {
		var tests []string
		jobEnv := env
		if ph.engines != "" {
			jobEnv = setEnv(env, testenv.EnvEngines, ph.engines)
		}
		for _, kind := range ph.kinds {
			tests = append(tests, p.tests[kind]...)
			if kind == crossEngineFile && len(p.tests[kind]) > 0 {
				jobEnv = setEnv(env, testenv.EnvEngines, "")
			}
		}
		if len(tests) > 0 {
			jobs = append(jobs, job{p, tests, jobEnv})
		}
	}
	result.packages = len(jobs)
	progress("%s: %d packages", ph.name, len(jobs))
	var mu sync.Mutex
	sem := make(chan struct{}, parallelism())
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			jobStart := time.Now()
			tests := runBinary(ctx, j.pkg, j.tests, j.env)
			mu.Lock()
			defer mu.Unlock()
			result.tests = append(result.tests, tests...)
			reportPackage(j.pkg, tests, time.Since(jobStart))
		})
	}
	wg.Wait()
	result.elapsed = time.Since(start)
	passed, failed, skipped := result.counts()
	progress("%s: %d passed, %d failed, %d skipped in %s", ph.name, passed, failed, skipped, result.elapsed.Round(100*time.Millisecond))
	return result
}

// reportPackage prints one line for a package's run in a phase, and the output of its failures.
func reportPackage(p *testPackage, tests []testResult, elapsed time.Duration) {
	var passed, failed, skipped int
	for _, t := range tests {
		switch t.action {
		case "pass":
			passed++
		case "fail":
			failed++
		case "skip":
			skipped++
		}
	}
	status := "ok  "
	if failed > 0 {
		status = "FAIL"
	}
	progress("  %s %s (%s: %d passed, %d failed, %d skipped)", status, p.importPath, elapsed.Round(100*time.Millisecond), passed, failed, skipped)
	for _, t := range tests {
		if t.action == "fail" && !hasFailedChild(tests, t) {
			fmt.Printf("--- FAIL: %s %s\n%s\n", t.pkg, t.name, limitLines(t.output, 200))
		}
	}
}

// hasFailedChild reports whether a subtest of t failed: its output says more than t's.
func hasFailedChild(tests []testResult, t testResult) bool {
	for _, u := range tests {
		if u.action == "fail" && u.pkg == t.pkg && strings.HasPrefix(u.name, t.name+"/") {
			return true
		}
	}
	return false
}

func limitLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n")
	}
	return strings.Join(lines[len(lines)-n:], "\n")
}

// runBinary runs the tests of one package's binary, in the package's folder as go test does,
// through test2json, and returns the outcome of every test and subtest. A binary that fails
// outside any test (TestMain, a panic, the timeout) adds a failed result named after the package.
func runBinary(ctx context.Context, p *testPackage, tests []string, env []string) []testResult {
	sort.Strings(tests)
	pattern := "^(" + strings.Join(tests, "|") + ")$"
	cmd := exec.CommandContext(ctx, test2jsonPath, "-p", p.importPath, p.binary,
		"-test.v=test2json", "-test.run="+pattern, "-test.timeout="+testTimeout.String())
	cmd.Dir = p.dir
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return []testResult{{pkg: p.importPath, name: "(run)", action: "fail", output: err.Error()}}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return []testResult{{pkg: p.importPath, name: "(run)", action: "fail", output: err.Error()}}
	}
	outputs := map[string]*strings.Builder{}
	var results []testResult
	packageFailed := false
	scanner := bufio.NewScanner(stdout)
	scanner.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for scanner.Scan() {
		var e event
		if err := json.Unmarshal(scanner.Bytes(), &e); err != nil {
			continue
		}
		out := outputs[e.Test]
		if out == nil {
			out = &strings.Builder{}
			outputs[e.Test] = out
		}
		switch e.Action {
		case "output":
			out.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				packageFailed = e.Action == "fail"
				continue
			}
			r := testResult{pkg: p.importPath, name: e.Test, action: e.Action}
			switch e.Action {
			case "skip":
				r.reason = skipReason(out.String())
			case "fail":
				r.output = out.String()
			}
			results = append(results, r)
		}
	}
	waitErr := cmd.Wait()
	if packageFailed || waitErr != nil {
		anyFailed := false
		for _, r := range results {
			anyFailed = anyFailed || r.action == "fail"
		}
		if !anyFailed {
			output := stderr.String()
			if out := outputs[""]; out != nil {
				output = out.String() + output
			}
			results = append(results, testResult{pkg: p.importPath, name: "(package)", action: "fail",
				output: fmt.Sprintf("%s\n(test binary: %v)", output, waitErr)})
		}
	}
	return results
}

// skipLine matches the line t.Skip prints: "    file_test.go:12: reason".
var skipLine = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)

// skipReason returns the message a skipped test gave, from its output.
func skipReason(output string) string {
	for _, line := range strings.Split(output, "\n") {
		if m := skipLine.FindStringSubmatch(line); m != nil {
			return strings.TrimSpace(m[1])
		}
	}
	return "(no reason given)"
}

// test2jsonPath is the tool that turns a test binary's -test.v=test2json output into JSON events,
// as go test -json does; build puts it there.
var test2jsonPath string
