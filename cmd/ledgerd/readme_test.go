package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeBlock is one ```sh block of the README's journeys, under its
// heading.
type readmeBlock struct {
	heading, script string
	line            int
}

// The markers around the README's journeys: every ```sh block between
// them is run by TestReadmeJourneys.
const (
	journeysStart = "<!-- journeys"
	journeysEnd   = "<!-- end of journeys -->"
)

// readmeJourneys returns the ```sh blocks between the journey markers, and
// the README's first ```sh block (its first screen).
func readmeJourneys(readme string) (first string, blocks []readmeBlock, err error) {
	lines := strings.Split(readme, "\n")
	in, heading, start := false, "", 0
	var cur []string
	inBlock := false
	for i, l := range lines {
		switch {
		case inBlock && strings.TrimSpace(l) == "```":
			inBlock = false
			if first == "" {
				first = strings.Join(cur, "\n")
			}
			if in {
				blocks = append(blocks, readmeBlock{heading: heading, script: strings.Join(cur, "\n") + "\n", line: start + 1})
			}
		case inBlock:
			cur = append(cur, l)
		case strings.HasPrefix(l, journeysStart):
			in = true
		case strings.HasPrefix(l, journeysEnd):
			if !in {
				return "", nil, fmt.Errorf("line %d: %q before %q", i+1, journeysEnd, journeysStart)
			}
			return first, blocks, nil
		case strings.HasPrefix(l, "#"):
			heading = strings.TrimSpace(strings.TrimLeft(l, "#"))
		case strings.TrimSpace(l) == "```sh":
			inBlock, cur, start = true, nil, i
		}
	}
	return "", nil, fmt.Errorf("no %q ... %q markers around the journeys", journeysStart, journeysEnd)
}

// TestReadmeJourneys runs the README as a newcomer would: the binaries
// built as `make build` builds them, ledgerd started in development mode
// (a fresh data directory, a loopback port), its printed export line
// pasted, then every ```sh block of the journeys run with bash, in order,
// in a working directory where ./bin/ledgerctl and ../shared/examples
// resolve as they do in a clone. A block that fails fails the test with
// the block and its output, so the README cannot drift from the code.
func TestReadmeJourneys(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("the README's journeys run in bash: %v", err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the README's journeys use curl: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	first, blocks, err := readmeJourneys(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	// The first screen holds exactly the two commands a newcomer needs.
	var cmds []string
	for _, l := range strings.Split(first, "\n") {
		if c, _, _ := strings.Cut(l, "#"); strings.TrimSpace(c) != "" {
			cmds = append(cmds, strings.TrimSpace(c))
		}
	}
	if strings.Join(cmds, "; ") != "make run; make test" {
		t.Errorf("the README's first commands are %q, want make run and make test", cmds)
	}
	for _, h := range []string{"operator", "person refused", "reviewer", "regulator", "auditor"} {
		found := false
		for _, b := range blocks {
			found = found || strings.Contains(strings.ToLower(b.heading), h)
		}
		if !found {
			t.Errorf("no journey block under a heading naming the %s", h)
		}
	}
	examples := filepath.Join(root, "..", "shared", "examples")
	if _, err := os.Stat(filepath.Join(examples, "constitution.json")); err != nil {
		t.Fatalf("the README's journeys use ../shared/examples beside the repository: %v", err)
	}

	// make build, in a temporary directory: the Makefile's recipe, with
	// its output directory moved there (make itself is not needed)
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^build:\n\t\$\(GO\) build -o bin/ (.+)$`).FindSubmatch(makefile)
	if m == nil || !strings.Contains(string(readme), "make build") {
		t.Fatalf("the README's make build: no Makefile recipe '$(GO) build -o bin/ PACKAGES' under build:, or no make build in the README")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	build := exec.Command("go", append([]string{"build", "-o", bin + string(filepath.Separator)}, strings.Fields(string(m[1]))...)...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A working directory laid out as a clone: ./bin/ledgerctl and
	// ../shared/examples.
	work := filepath.Join(tmp, "clone")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(tmp, "shared"), 0o755),
		os.Symlink(examples, filepath.Join(tmp, "shared", "examples")),
		os.Mkdir(work, 0o755),
		os.Symlink(bin, filepath.Join(work, "bin")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	// make run, on a loopback port
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ledgerd := exec.CommandContext(ctx, filepath.Join(bin, "ledgerd"), "--data", filepath.Join(tmp, "data"), "--listen", "127.0.0.1:0", "--log-level", "warn")
	ledgerd.Dir = work
	ledgerd.Stderr = &lockedBuffer{}
	stdout, err := ledgerd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ledgerd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = ledgerd.Wait()
	}()
	banner, err := readBanner(stdout, 30*time.Second)
	if err != nil {
		t.Fatalf("ledgerd: %v\nstdout:\n%s\nstderr:\n%s", err, banner, ledgerd.Stderr)
	}
	go io.Copy(io.Discard, stdout)
	export := regexp.MustCompile(`(?m)^export LEDGER_URL=\S+ LEDGER_TOKEN=\S+ REVIEWER_TOKEN=\S+ REGULATOR_TOKEN=\S+ OPERATOR_TOKEN=\S+ STAKEHOLDER_TOKEN=\S+ VKEY=\S+$`).FindString(banner)
	if export == "" {
		t.Fatalf("ledgerd printed no export line with the URL, a token per role and the vkey:\n%s", banner)
	}
	// The curl lines ledgerd prints are the README's.
	for _, l := range strings.Split(banner, "\n") {
		if strings.HasPrefix(l, "curl ") && !strings.Contains(string(readme), "\n"+l+"\n") {
			t.Errorf("ledgerd prints a curl line the README does not have:\n%s", l)
		}
	}

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "LANG=C"}
	outputs := map[string]string{}
	for _, b := range blocks {
		script := "set -euo pipefail\n" + export + "\n" + b.script
		bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
		cmd := exec.CommandContext(bctx, bash, "-c", script)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		bcancel()
		t.Logf("README.md:%d (%s):\n%s%s", b.line, b.heading, b.script, out)
		if err != nil {
			t.Fatalf("README.md:%d, under %q, fails (%v):\n%s\noutput:\n%s\nledgerd's log:\n%s", b.line, b.heading, err, b.script, out, ledgerd.Stderr)
		}
		outputs[b.heading] += string(out)
	}
	// What the journeys must show, beyond exiting 0.
	for _, want := range []struct{ heading, re, why string }{
		{"person refused", `OK: entry \d+ .* at tree size \d+`, "the receipt verifies"},
		{"person refused", `contest con-readme-1 filed against dec-`, "the contest is filed"},
		{"person refused", `verified offline with the key of`, "contest says what it verified"},
		{"reviewer", `contest con-readme-1 resolved: overturned`, "the contest is resolved"},
		{"regulator", `(?m)^[1-9]\d* records; scanned entries`, "the query window finds the example decision"},
		{"regulator", `complete and correct`, "audit-query recounts the answer"},
	} {
		got := ""
		for h, out := range outputs {
			if strings.Contains(strings.ToLower(h), want.heading) {
				got += out
			}
		}
		if !regexp.MustCompile(want.re).MatchString(got) {
			t.Errorf("the %s journey's output does not match %q (%s):\n%s", want.heading, want.re, want.why, got)
		}
	}
}

// readBanner reads ledgerd's stdout up to the second curl line it prints
// in development mode.
func readBanner(r io.Reader, timeout time.Duration) (string, error) {
	type result struct {
		banner string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(r)
		curls := 0
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "curl ") {
				if curls++; curls == 2 {
					done <- result{b.String(), nil}
					return
				}
			}
		}
		done <- result{b.String(), errors.Join(errors.New("stdout ended before the development banner"), sc.Err())}
	}()
	select {
	case r := <-done:
		return r.banner, r.err
	case <-time.After(timeout):
		return "", fmt.Errorf("no development banner within %v", timeout)
	}
}
