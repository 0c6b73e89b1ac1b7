package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sms-platform/phone-numbers/local/engine"
	"github.com/sms-platform/phone-numbers/local/enginetest"
)

// TestMakeRunLeavesNothingBehind starts `make run` on free ports, stops it as a developer or a
// system would, and checks that both its ports are free again: the API server and the engine are
// gone. make runs in a process group of its own, as a shell's job does; a signal "to the group"
// reaches make and the server both, as Ctrl-C and a closing terminal do. SIGINT or SIGHUP sent to
// make alone, which make does not forward, is covered on Linux (see parentStopping).
func TestMakeRunLeavesNothingBehind(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	root, err := engine.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		signal syscall.Signal
		group  bool
	}{
		{"SIGTERM to make", syscall.SIGTERM, false},
		{"SIGTERM to the group", syscall.SIGTERM, true},
		{"SIGINT to the group, as Ctrl-C sends it", syscall.SIGINT, true},
		{"SIGHUP to the group, as a closing terminal sends it", syscall.SIGHUP, true},
		// make dies without forwarding anything: the server sees its parent go.
		{"SIGKILL to make", syscall.SIGKILL, false},
		// make waits for the server without forwarding these: the server sees make handling them.
		{"SIGHUP to make", syscall.SIGHUP, false},
		{"SIGINT to make", syscall.SIGINT, false},
	}
	// A test run from nohup, or a shell's background job, inherits SIGHUP or SIGINT ignored, and
	// so would make, which then never handles them. Caught here, they are reset to their default
	// in make, as in a terminal.
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, syscall.SIGHUP, syscall.SIGINT)
	defer signal.Stop(caught)
	// One at a time: each builds the server binary into local/bin.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.group && (tc.signal == syscall.SIGHUP || tc.signal == syscall.SIGINT) && runtime.GOOS != "linux" {
				t.Skip("only Linux shows the server that make handles a signal it does not forward")
			}
			ports := make([]int, 2)
			for i := range ports {
				if ports[i], err = engine.FreePort(); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
			defer cancel()
			var output enginetest.LockedBuffer
			cmd := exec.Command("make", "--no-print-directory", "run",
				"PORT="+strconv.Itoa(ports[0]), "DYNAMODB_PORT="+strconv.Itoa(ports[1]))
			cmd.Dir = root
			cmd.Stdout, cmd.Stderr = &output, &output
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

			api := "http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/"
			for {
				if resp, err := http.Get(api); err == nil {
					resp.Body.Close()
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("make run exited before serving (%v):\n%s", err, output.String())
				case <-ctx.Done():
					t.Fatalf("make run not serving on port %d after 5 minutes:\n%s", ports[0], output.String())
				case <-time.After(100 * time.Millisecond):
				}
			}

			target := cmd.Process.Pid
			if tc.group {
				target = -target
			}
			if err := syscall.Kill(target, tc.signal); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-ctx.Done():
				t.Fatalf("make run still running after %s:\n%s", tc.name, output.String())
			}
			for _, port := range ports {
				waitFree(ctx, t, port)
			}
			if !strings.Contains(output.String(), "stopping: API server, dynalite") {
				t.Errorf("no stopping line after %s:\n%s", tc.name, output.String())
			}
		})
	}
}

// waitFree waits until port on 127.0.0.1 can be listened on: whoever held it is gone.
func waitFree(ctx context.Context, t *testing.T, port int) {
	t.Helper()
	for {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			l.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("port %d still held: something make run started was left behind", port)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
