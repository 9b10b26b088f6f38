package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

// onTmpfs reports whether dir is on a tmpfs, where writes never reach
// storage (and so count nothing in /proc/<pid>/io).
func onTmpfs(t *testing.T, dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	return st.Type == unix.TMPFS_MAGIC
}
