// Package pytools finds, and where it can installs, the Python tools that local tooling uses and
// the deployed function never does: moto_server (the second DynamoDB engine) and cfn-lint (which
// brings the SAM translator) for the template. A tool is looked up on PATH, then in the project's
// own virtualenv, local/.venv; Install puts the pinned versions there when a Python package index
// answers.
package pytools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tool is a Python command-line tool installed with pip.
type Tool struct {
	// Command is the executable's name, e.g. "moto_server".
	Command string
	// Requirement is the pinned pip requirement that provides Command.
	Requirement string
	// Purpose says what the project uses the tool for.
	Purpose string
}

// The tools, with the versions the project is tested with.
var (
	// Moto is moto's server, the DynamoDB engine with transactions and ALL_OLD on failed conditions.
	Moto = Tool{Command: "moto_server", Requirement: "moto[server]==5.2.1", Purpose: "the moto DynamoDB engine (integration tests on moto, make run ENGINE=moto)"}
	// CfnLint lints template.yaml, SAM transform included (it brings aws-sam-translator).
	CfnLint = Tool{Command: "cfn-lint", Requirement: "cfn-lint==1.51.0", Purpose: "the template lint (cfn-lint with the SAM translator)"}
	// All lists every tool, in the order Install installs them.
	All = []Tool{Moto, CfnLint}
)

// PythonHint says which Python the virtualenv needs and how to get it.
const PythonHint = "Python 3.9 or newer with venv (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python)"

// failedMarker, in the virtualenv, records a failed install so that later runs do not wait on an
// unreachable package index again for a day.
const (
	failedMarker = ".install-failed"
	retryAfter   = 24 * time.Hour
)

// InstallHint returns how to install t, in one line.
func (t Tool) InstallHint() string {
	return fmt.Sprintf("run `make python-tools` (installs %s into local/.venv; needs %s and a reachable Python package index) or `pip install '%s'`",
		t.Requirement, PythonHint, t.Requirement)
}

// Missing returns the line that says t is missing, what for, and how to install it.
func (t Tool) Missing() string {
	return fmt.Sprintf("%s is missing (needed for %s): %s", t.Command, t.Purpose, t.InstallHint())
}

// VenvDir returns the project's virtualenv folder under the repository root.
func VenvDir(root string) string { return filepath.Join(root, "local", ".venv") }

// VenvBin returns the folder of the virtualenv's executables, to put first on PATH.
func VenvBin(root string) string { return filepath.Join(VenvDir(root), "bin") }

// Find returns the path of t's executable: on PATH, else in the project's virtualenv. The error
// is t.Missing().
func Find(root string, t Tool) (string, error) {
	if path, err := exec.LookPath(t.Command); err == nil {
		return path, nil
	}
	path := filepath.Join(VenvBin(root), t.Command)
	if info, err := os.Stat(path); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
		return path, nil
	}
	return "", errors.New(t.Missing())
}

// ErrRecentlyFailed is returned by Install when an install failed less than a day ago; `make
// python-tools` (Install with force) tries again at once.
var ErrRecentlyFailed = errors.New("the last install attempt failed less than a day ago")

// RecentlyFailed reports whether an install into the project's virtualenv failed less than a day
// ago; Install without force does not try again until then.
func RecentlyFailed(root string) bool {
	info, err := os.Stat(filepath.Join(VenvDir(root), failedMarker))
	return err == nil && time.Since(info.ModTime()) < retryAfter
}

// Install creates the project's virtualenv when it is missing and installs the pinned
// requirement of every tool in tools into it. Unless force is set, it does not try again within a
// day of a failed attempt. pip's output goes to out.
func Install(ctx context.Context, root string, tools []Tool, force bool, out io.Writer) error {
	venv := VenvDir(root)
	marker := filepath.Join(venv, failedMarker)
	if !force && RecentlyFailed(root) {
		return fmt.Errorf("%w (%s)", ErrRecentlyFailed, marker)
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return fmt.Errorf("python3 is missing: install %s", PythonHint)
	}
	if _, err := os.Stat(filepath.Join(venv, "bin", "pip")); err != nil {
		cmd := exec.CommandContext(ctx, python, "-m", "venv", venv)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("create the virtualenv %s with %s -m venv: %w (it needs %s)", venv, python, err, PythonHint)
		}
	}
	args := []string{"install", "--disable-pip-version-check", "--timeout", "15", "--retries", "1"}
	var requirements []string
	for _, t := range tools {
		requirements = append(requirements, t.Requirement)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(venv, "bin", "pip"), append(args, requirements...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		_ = os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
		return fmt.Errorf("pip install %s into %s: %w (is a Python package index reachable?)", strings.Join(requirements, " "), venv, err)
	}
	_ = os.Remove(marker)
	return nil
}
