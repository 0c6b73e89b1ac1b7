package engine

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays three parts, chosen by environment variables: the test itself, a parent
// that starts a child with one of the mechanisms below and then waits to be killed, and the child,
// which listens on a port until it is ended.
const (
	envPart      = "ENGINE_TEST_PART"
	envMechanism = "ENGINE_TEST_MECHANISM"
	envPort      = "ENGINE_TEST_PORT"
)

var mechanisms = map[string]func(*exec.Cmd) (*exec.Cmd, error){
	"this platform's": dieWithParent,
	// What macOS uses; tested on every platform, since it is plain POSIX sh.
	"the shell watchdog": withWatchdog,
}

func TestMain(m *testing.M) {
	switch os.Getenv(envPart) {
	case "parent":
		os.Exit(parent())
	case "child":
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// parent starts the child with the chosen mechanism, says "ready" once the child listens, and
// sleeps until it is killed.
func parent() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Println(err)
		return 1
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envPart+"=child")
	cmd, err = mechanisms[os.Getenv(envMechanism)](cmd)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return 1
	}
	addr := net.JoinHostPort("127.0.0.1", os.Getenv(envPort))
	for {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("ready")
	select {}
}

// child listens on the port until it is ended.
func child() int {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Getenv(envPort)))
	if err != nil {
		return 1
	}
	for {
		conn, err := l.Accept()
		if err != nil {
			return 1
		}
		conn.Close()
	}
}

// TestChildDiesWithItsParent kills a parent with SIGKILL, which it cannot catch or clean up after,
// and checks that the child it started, a server like an engine, ends too and frees its port.
func TestChildDiesWithItsParent(t *testing.T) {
	for name := range mechanisms {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			port, err := FreePort()
			if err != nil {
				t.Fatal(err)
			}
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, self)
			cmd.Env = append(os.Environ(), envPart+"=parent", envMechanism+"="+name, envPort+"="+strconv.Itoa(port))
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if strings.TrimSpace(line) != "ready" {
				_ = cmd.Process.Kill()
				t.Fatalf("parent said %q (%v), want ready", line, err)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()

			// The child's port is free once the child is gone; it holds it until then.
			for {
				l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
				if err == nil {
					l.Close()
					return
				}
				select {
				case <-ctx.Done():
					t.Fatalf("port %d still held a minute after the parent was killed: the child outlived its parent", port)
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
}
