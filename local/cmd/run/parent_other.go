//go:build !linux

package main

// parentStopping cannot see a parent's signal handling outside Linux (no /proc). There,
// SIGINT or SIGHUP sent to make's pid alone leaves make waiting for this server: send them to the
// process group (the terminal does), or send SIGTERM, which make forwards.
func parentStopping(int) bool { return false }
