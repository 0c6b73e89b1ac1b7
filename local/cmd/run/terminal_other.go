//go:build !darwin && !linux

package main

// takeTerminal does nothing where process groups and terminals work otherwise.
func takeTerminal() (release func()) { return func() {} }
