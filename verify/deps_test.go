package verify

import (
	"os/exec"
	"strings"
	"testing"
)

// allowedModules are the only modules verify/... may depend on (besides
// the standard library): an auditor MUST be able to vendor this library
// with just these. filippo.io/mldsa comes in through formats/note (ML-DSA
// witness cosignatures).
var allowedModules = []string{
	"github.com/fjaledger/fja",
	"github.com/transparency-dev/merkle",
	"github.com/transparency-dev/formats",
	"golang.org/x/mod",
	"golang.org/x/crypto",
	"filippo.io/mldsa",
}

var forbiddenSubstrings = []string{"/ledger", "/audit", "/api", "badger", "echo"}

func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command(goBin, "list", "-deps", "-test",
		"-f", "{{if not .Standard}}{{with .Module}}{{.Path}}{{else}}-{{end}} {{.ImportPath}}{{end}}",
		"github.com/fjaledger/fja/verify/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n++
		mod, pkg, _ := strings.Cut(line, " ")
		for _, bad := range forbiddenSubstrings {
			if strings.Contains(pkg, bad) {
				t.Errorf("verify depends on %s (contains %q)", pkg, bad)
			}
		}
		if mod == "github.com/fjaledger/fja" && !isVerifyPackage(pkg) {
			t.Errorf("verify depends on %s, want only github.com/fjaledger/fja/verify/...", pkg)
		}
		allowed := false
		for _, m := range allowedModules {
			allowed = allowed || mod == m
		}
		if !allowed {
			t.Errorf("verify depends on %s from module %q, which is not allowed", pkg, mod)
		}
	}
	if n == 0 {
		t.Fatal("go list printed no packages")
	}
}

func isVerifyPackage(pkg string) bool {
	const p = "github.com/fjaledger/fja/verify"
	if i := strings.Index(pkg, " ["); i >= 0 {
		pkg = pkg[:i]
	}
	pkg = strings.TrimSuffix(strings.TrimSuffix(pkg, ".test"), "_test")
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}
