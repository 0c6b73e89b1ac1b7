package engine

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd run in a process group of its own and get SIGKILL from the kernel when
// this process exits, however it exits.
func dieWithParent(cmd *exec.Cmd) (*exec.Cmd, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}
