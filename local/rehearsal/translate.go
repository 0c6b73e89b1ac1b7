package rehearsal

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
)

//go:embed translate.py
var translateScript string

// ErrTranslatorUnavailable is returned by StartTranslator when no Python with the SAM translator
// is installed.
var ErrTranslatorUnavailable = errors.New("the SAM translator (Python package aws-sam-translator, installed with cfn-lint) is not importable")

// Translator expands SAM templates with the SAM translator, in a Python worker process that
// imports it once.
type Translator struct {
	// Version is samtranslator's version.
	Version string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
	mu     sync.Mutex
}

// translatorAnswer is one line the worker writes.
type translatorAnswer struct {
	Version  string         `json:"version"`
	Template map[string]any `json:"template"`
	Error    []string       `json:"error"`
}

// StartTranslator starts the worker with python (python3 when empty) for region, or returns an
// error wrapping ErrTranslatorUnavailable when that interpreter is missing or cannot import
// samtranslator. Close stops it.
func StartTranslator(ctx context.Context, python, region string) (*Translator, error) {
	if python == "" {
		python = "python3"
	}
	path, err := exec.LookPath(python)
	if err != nil {
		return nil, fmt.Errorf("%w: no %s", ErrTranslatorUnavailable, python)
	}
	tr := &Translator{cmd: exec.Command(path, "-c", translateScript)}
	tr.cmd.Env = translatorEnv(region)
	tr.cmd.Stderr = &tr.stderr
	if tr.stdin, err = tr.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := tr.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	tr.stdout = bufio.NewReader(stdout)
	if err := tr.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrTranslatorUnavailable, path, err)
	}
	hello, err := tr.read(ctx)
	if err != nil || hello.Version == "" {
		tr.Close()
		reason := strings.Join(hello.Error, "; ")
		if err != nil {
			reason = err.Error()
		}
		return nil, fmt.Errorf("%w by %s: %s", ErrTranslatorUnavailable, path, reason)
	}
	tr.Version = hello.Version
	return tr, nil
}

// read reads the worker's next answer, giving up when ctx ends.
func (tr *Translator) read(ctx context.Context) (translatorAnswer, error) {
	type result struct {
		line []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := tr.stdout.ReadBytes('\n')
		done <- result{line, err}
	}()
	var a translatorAnswer
	select {
	case <-ctx.Done():
		tr.Close()
		return a, ctx.Err()
	case r := <-done:
		if r.err != nil {
			return a, fmt.Errorf("the translator stopped: %v: %s", r.err, strings.TrimSpace(tr.stderr.String()))
		}
		if err := json.Unmarshal(r.line, &a); err != nil {
			return a, fmt.Errorf("the translator's answer is not JSON: %w", err)
		}
		return a, nil
	}
}

// Expand returns the plain CloudFormation template the SAM transform makes of template (in
// CloudFormation's JSON form) with the given parameter values, as CloudFormation does when a
// stack is created or updated: parameter values matter, because SAM resolves some of them while
// expanding (the deployment preference type, for one).
func (tr *Translator) Expand(ctx context.Context, template map[string]any, params map[string]string) (map[string]any, error) {
	request, err := json.Marshal(map[string]any{"template": template, "parameters": params})
	if err != nil {
		return nil, fmt.Errorf("expand template: %w", err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if _, err := tr.stdin.Write(append(request, '\n')); err != nil {
		return nil, fmt.Errorf("expand template: %w", err)
	}
	a, err := tr.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("expand template: %w", err)
	}
	if len(a.Error) > 0 {
		return nil, fmt.Errorf("expand template with samtranslator %s: %s", tr.Version, strings.Join(a.Error, "; "))
	}
	return a.Template, nil
}

// Close stops the worker.
func (tr *Translator) Close() {
	_ = tr.stdin.Close()
	if tr.cmd.Process != nil {
		_ = tr.cmd.Process.Kill()
		_ = tr.cmd.Wait()
	}
}

// translatorEnv is the caller's environment without its AWS settings (the translator reads the
// region, and boto3 would read credentials and profiles), with the rehearsal's region.
func translatorEnv(region string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_DEFAULT_REGION="+region)
}
