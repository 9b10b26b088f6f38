package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies holds the client to its package contract: producers
// and auditors import it without the server (api, audit, ledger), its
// storage or its HTTP framework. Its tests may use them (api/apitest).
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/fjaledger/fja/api/client/...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for pkg := range strings.Lines(string(out)) {
		pkg = strings.TrimSpace(pkg)
		for _, bad := range []string{"fja/api/auth", "fja/audit", "fja/ledger", "badger", "labstack/echo"} {
			if strings.Contains(pkg, bad) {
				t.Errorf("api/client depends on %s", pkg)
			}
		}
		if pkg == "github.com/fjaledger/fja/api" {
			t.Errorf("api/client depends on the server package %s", pkg)
		}
	}
}
