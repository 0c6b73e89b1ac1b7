package engine

import (
	"fmt"
	"os/exec"
	"syscall"
)

// watchdogScript runs "$@" and ends it when the parent that started the script goes away, however
// it goes: the parent holds the write end of the script's stdin, which the kernel closes when the
// parent exits or is killed, so `read` returns and the script signals its whole process group. It
// also exits when the command exits, so that the parent sees an engine that died. POSIX sh, for
// systems without Linux's parent-death signal (macOS).
const watchdogScript = `trap 'exit 0' TERM
{ "$@" </dev/null; kill -TERM $$ 2>/dev/null; } &
read -r _
kill -TERM 0`

// withWatchdog returns a command that runs cmd under watchdogScript, in a process group of its
// own (which the script signals, and Engine.Stop too), with a stdin pipe held by this process.
// The pipe stays open as long as the returned command is referenced: keep it until it exits.
func withWatchdog(cmd *exec.Cmd) (*exec.Cmd, error) {
	w := exec.Command("/bin/sh", append([]string{"-c", watchdogScript, "sh", cmd.Path}, cmd.Args[1:]...)...)
	w.Dir, w.Env, w.Stdout, w.Stderr = cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr
	w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if _, err := w.StdinPipe(); err != nil {
		return nil, fmt.Errorf("watchdog pipe: %w", err)
	}
	return w, nil
}
