//go:build darwin || linux

package main

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// takeTerminal makes this process the terminal's foreground process group, when it was started
// in the foreground of a terminal, and returns the function that gives the terminal back.
//
// Ctrl-C sends SIGINT to every process of the foreground group: to make as well as to this
// server. GNU make, however its child exits, answers SIGINT by killing itself with it, so `make
// run` would end with status 130 and the shell would drop the rest of a command line. In a group
// of its own, in the foreground, this server alone gets Ctrl-C: it stops what it started and exits
// 0, and make exits 0 with it. SIGTERM and SIGHUP still reach it (make forwards SIGTERM; the
// kernel sends SIGHUP to the foreground group when the terminal closes, and the shell to make).
// Ctrl-Z is ignored while it holds the terminal: make, which the shell waits for, would not stop.
func takeTerminal() (release func()) {
	tty := int(os.Stdin.Fd())
	group, err := foregroundGroup(tty)
	if err != nil || group != syscall.Getpgrp() {
		return func() {} // not a terminal, or started in the background: leave it alone
	}
	// Between leaving the foreground group and taking the terminal, this process is in the
	// background, where changing the foreground group raises SIGTTOU.
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTSTP, syscall.SIGTTIN)
	if err := syscall.Setpgid(0, 0); err != nil {
		return func() {}
	}
	if err := setForegroundGroup(tty, syscall.Getpgrp()); err != nil {
		_ = syscall.Setpgid(0, group)
		return func() {}
	}
	return func() { _ = setForegroundGroup(tty, group) }
}

func foregroundGroup(fd int) (int, error) {
	var pgid int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&pgid))); errno != 0 {
		return 0, errno
	}
	return int(pgid), nil
}

func setForegroundGroup(fd, pgid int) error {
	id := int32(pgid)
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), uintptr(syscall.TIOCSPGRP), uintptr(unsafe.Pointer(&id))); errno != 0 {
		return errno
	}
	return nil
}
