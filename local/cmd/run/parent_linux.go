package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// parentStopping reports whether the parent process, when it is make, is handling SIGINT,
// SIGHUP or SIGTERM sent to it alone.
//
// GNU make forwards only SIGTERM to its children. On SIGINT or SIGHUP it expects them to have
// had the same signal from the terminal, and waits for them before it dies: `kill -HUP <make's
// pid>` would otherwise leave make and this server waiting for each other for ever. make's handler
// runs with the signal it handles blocked until its children exit, which /proc shows in SigBlk.
func parentStopping(ppid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/comm")
	if err != nil || !isMake(strings.TrimSpace(string(comm))) {
		return false
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(ppid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(status), "\n") {
		if mask, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			blocked, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return err == nil && blocked&stopSignalsMask != 0
		}
	}
	return false
}

// stopSignalsMask has the bits of SIGHUP, SIGINT and SIGTERM in /proc's signal masks, where
// signal n is bit n-1.
const stopSignalsMask = 1<<(syscall.SIGHUP-1) | 1<<(syscall.SIGINT-1) | 1<<(syscall.SIGTERM-1)

func isMake(comm string) bool { return comm == "make" || comm == "gmake" }
