package main

import (
	"bytes"
	"strings"
	"testing"
)

// ctl runs ledgerctl in-process with args and stdin, as main does, and
// returns the exit status, stdout and stderr.
func ctl(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	cmd, err := root.ExecuteC()
	code = report(&errOut, cmd, err)
	t.Logf("ledgerctl %s: %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}
