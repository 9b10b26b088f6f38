//go:build !linux

package main

import "testing"

// onTmpfs is false where /proc/<pid>/io is not read at all.
func onTmpfs(*testing.T, string) bool { return false }
