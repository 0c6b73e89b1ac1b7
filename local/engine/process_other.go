//go:build !linux

package engine

import "os/exec"

// dieWithParent makes cmd run in a process group of its own that ends when this process exits,
// however it exits. Only Linux has a parent-death signal, so elsewhere (macOS) a small shell
// watchdog watches a pipe from this process instead.
func dieWithParent(cmd *exec.Cmd) (*exec.Cmd, error) {
	return withWatchdog(cmd)
}
