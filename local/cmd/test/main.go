// Command test is `make test`: it builds everything first, then runs the tests phase by phase
// (unit, integration on dynalite, integration on moto, emulator, template), printing where the
// minutes go, and ends with a summary of what ran and of every part skipped for a missing tool,
// with how to install it.
//
// Optional Python tools (moto_server, cfn-lint) are taken from PATH or from the project's
// virtualenv local/.venv, and installed there (pinned) when missing and a Python package index
// answers. Under CI=true a tool still missing fails the run, with the same install hint.
//
// It uses only the standard library and local/pytools and local/testenv, so that on an empty
// build cache it starts printing within seconds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sms-platform/phone-numbers/local/pytools"
)

// testTimeout bounds one test binary, as go test's -timeout does.
const testTimeout = 15 * time.Minute

var started = time.Now()

// progress prints one progress line, prefixed with the time since the start.
func progress(format string, args ...any) {
	fmt.Printf("[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	installOnly := flag.Bool("install-python-tools", false, "install moto_server and cfn-lint into local/.venv and exit")
	ensureOnly := flag.Bool("ensure-python-tools", false, "find moto_server and cfn-lint, install the missing ones into local/.venv, fail naming any still missing, and exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "make test:", err)
		os.Exit(1)
	}
	if *installOnly {
		if err := pytools.Install(ctx, root, pytools.All, true, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "make python-tools:", err)
			os.Exit(1)
		}
		fmt.Printf("installed %s into %s\n", requirements(pytools.All), pytools.VenvDir(root))
		return
	}
	if *ensureOnly {
		found, missing := pythonTools(ctx, root)
		for _, t := range pytools.All {
			if path, ok := found[t.Command]; ok {
				fmt.Printf("%s: %s\n", t.Command, path)
			}
		}
		for _, t := range missing {
			fmt.Fprintln(os.Stderr, t.Missing())
		}
		if len(missing) > 0 {
			os.Exit(1)
		}
		return
	}
	os.Exit(run(ctx, root))
}

func run(ctx context.Context, root string) int {
	ci := os.Getenv("CI") == "true"
	tools, missing := pythonTools(ctx, root)
	if len(missing) > 0 && ci {
		for _, t := range missing {
			fmt.Fprintf(os.Stderr, "make test: CI=true requires every tool, and %s\n", t.Missing())
		}
		return 1
	}

	bins, err := os.MkdirTemp("", "phone-numbers-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make test:", err)
		return 1
	}
	defer os.RemoveAll(bins)
	progress("build: compiling every package, test binary and the bootstrap (minutes on an empty build cache)")
	buildStart := time.Now()
	pkgs, err := build(ctx, root, bins)
	if err != nil {
		fmt.Fprintln(os.Stderr, "make test: build failed:", err)
		return 1
	}
	progress("build: %d test binaries in %s", len(pkgs), since(buildStart))

	env := os.Environ()
	// The project's virtualenv, last: a tool on PATH wins, as pytools.Find has it.
	env = setEnv(env, "PATH", os.Getenv("PATH")+string(os.PathListSeparator)+pytools.VenvBin(root))

	var results []*phaseResult
	for _, ph := range phases() {
		if ctx.Err() != nil {
			break
		}
		results = append(results, runPhase(ctx, ph, pkgs, env))
	}
	if ctx.Err() == nil {
		lintStart := time.Now()
		template := results[len(results)-1]
		template.add(cfnLint(ctx, root, tools))
		template.elapsed += time.Since(lintStart)
	}

	return summarize(results, missing)
}

// repoRoot returns the directory holding go.mod, searching upwards from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// pythonTools finds each optional tool, installing the missing ones into local/.venv when it can.
// It returns the path of each tool found and the tools still missing.
func pythonTools(ctx context.Context, root string) (map[string]string, []pytools.Tool) {
	found := map[string]string{}
	var missing []pytools.Tool
	for _, t := range pytools.All {
		if path, err := pytools.Find(root, t); err == nil {
			found[t.Command] = path
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return found, nil
	}
	if pytools.RecentlyFailed(root) {
		progress("python tools: %s missing; not installing them: the last attempt failed less than a day ago (make python-tools tries again)", commands(missing))
		return found, missing
	}
	progress("python tools: %s missing; installing %s into %s", commands(missing), requirements(missing), pytools.VenvDir(root))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var pipOutput strings.Builder
	if err := pytools.Install(ctx, root, missing, false, &pipOutput); err != nil {
		progress("python tools: not installed: %v", err)
	}
	var still []pytools.Tool
	for _, t := range missing {
		if path, err := pytools.Find(root, t); err == nil {
			found[t.Command] = path
		} else {
			still = append(still, t)
		}
	}
	return found, still
}

func commands(tools []pytools.Tool) string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Command)
	}
	return strings.Join(names, ", ")
}

func requirements(tools []pytools.Tool) string {
	var reqs []string
	for _, t := range tools {
		reqs = append(reqs, t.Requirement)
	}
	return strings.Join(reqs, " ")
}

// setEnv returns env with name set to value.
func setEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// phase is one step of the run: the tests of one kind, in every package that has some.
type phase struct {
	name string
	// kinds selects the test files whose tests the phase runs.
	kinds []fileKind
	// engines, when set, is the value of testenv.EnvEngines for the phase's test binaries, but
	// for those of crossEngineFile tests, which get every engine.
	engines string
}

func phases() []phase {
	return []phase{
		{name: "unit", kinds: []fileKind{unitFile}},
		{name: "integration on dynalite", kinds: []fileKind{engineFile, dynaliteFile}, engines: "dynalite"},
		{name: "integration on moto", kinds: []fileKind{engineFile, crossEngineFile}, engines: "moto"},
		{name: "emulator", kinds: []fileKind{emulatorFile}, engines: "dynalite"},
		{name: "template", kinds: []fileKind{templateFile}},
	}
}

// cfnLint lints template.yaml with cfn-lint, as one check of the template phase.
func cfnLint(ctx context.Context, root string, tools map[string]string) checkResult {
	path, ok := tools[pytools.CfnLint.Command]
	if !ok {
		return checkResult{name: "cfn-lint template.yaml", skipped: pytools.CfnLint.Missing()}
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, path, "template.yaml")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		progress("  FAIL cfn-lint template.yaml (%s)\n%s", since(start), out)
		return checkResult{name: "cfn-lint template.yaml", failed: true, output: string(out)}
	}
	progress("  ok   cfn-lint template.yaml (%s)", since(start))
	return checkResult{name: "cfn-lint template.yaml"}
}

// checkResult is the outcome of a check that is not a Go test.
type checkResult struct {
	name    string
	failed  bool
	skipped string // the reason, when skipped
	output  string
}

func parallelism() int { return max(1, runtime.NumCPU()) }
