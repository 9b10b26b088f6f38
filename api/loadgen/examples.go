// Package loadgen drives a ledger server with what producers really send:
// the shared example requests (a constitution and three decisions: refused,
// answered, and modified with a private section), each decision sent many
// times with fresh ids and fresh commitments, over HTTP.
//
// Invariants:
//   - Request bodies are read from the example files at run time and
//     generated on the fly, one per request: a run MUST NOT hold more than
//     the bodies in flight, however many records it sends.
//   - Every generated decision differs from every other one sent by the same
//     Examples (decision id, subject ref, commitments, private text), and the
//     decision ids of two Examples differ (a random run id), so the server
//     never answers a record as a repeat.
//   - Every decision cites the constitution version Constitution returns;
//     it MUST be published before the decisions are sent.
//
// The same package holds the growth run (Grow): a log grown over HTTP while
// the server's memory, append rate, proof latency and disk use are sampled,
// written as CSV and drawn as an SVG chart.
//
// It sends through its own Sender, not api/client, because it measures
// the server's wire throughput: api/client's receipt verification and
// retries would spend the load generator's CPU and hide failed requests,
// capping or skewing the rates reported.
package loadgen

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DecisionFiles are the example decisions in the examples directory, by
// the kind name that reports use.
var DecisionFiles = []struct{ Kind, File string }{
	{"refused", "decision-refused.json"},
	{"answered", "decision-answered.json"},
	{"private", "decision-modified-private.json"},
}

// ConstitutionFile is the example constitution the decisions cite.
const ConstitutionFile = "constitution.json"

// Examples is the set of templates made from one examples directory, for
// one run.
type Examples struct {
	// Dir is the directory the examples were read from.
	Dir string
	// Run is the random run id in every decision id and in the
	// constitution version.
	Run string
	// Kinds are the decision templates, in DecisionFiles order.
	Kinds []*Template

	constitution []byte
}

// Load reads the example constitution and decisions from dir and makes one
// template per decision. The constitution gets a fresh version
// ("<example version>-bench-<run>") so that a rerun against the same log
// publishes a new one, and every decision cites it.
func Load(dir string) (*Examples, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("examples directory %s: want a directory holding %s and the decision examples (../shared/examples beside the module root), got %v", dir, ConstitutionFile, errOrNotDir(err))
	}
	var b [4]byte
	rand.Read(b[:])
	run := hex.EncodeToString(b[:])

	c, err := readObject(filepath.Join(dir, ConstitutionFile))
	if err != nil {
		return nil, err
	}
	id, _ := c["constitution_id"].(string)
	version, _ := c["version"].(string)
	if id == "" || version == "" {
		return nil, fmt.Errorf("%s: want string constitution_id and version, got %v and %v", filepath.Join(dir, ConstitutionFile), c["constitution_id"], c["version"])
	}
	version = fmt.Sprintf("%s-bench-%s", version, run)
	if len(version) > 64 {
		version = "bench-" + run
	}
	c["version"] = version
	cb, err := marshal(c)
	if err != nil {
		return nil, err
	}
	e := &Examples{Dir: dir, Run: run, constitution: cb}
	for _, f := range DecisionFiles {
		t, err := compile(filepath.Join(dir, f.File), f.Kind, run, id, version)
		if err != nil {
			return nil, err
		}
		e.Kinds = append(e.Kinds, t)
	}
	return e, nil
}

func errOrNotDir(err error) any {
	if err != nil {
		return err
	}
	return "a file"
}

// Constitution is the example constitution with this run's version: the
// body of POST /v1/constitutions.
func (e *Examples) Constitution() []byte { return bytes.Clone(e.constitution) }

// Kind returns the template of the named kind, or nil.
func (e *Examples) Kind(name string) *Template {
	for _, t := range e.Kinds {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Select returns the templates of the kinds named in the comma-separated list
// (spaces around a name dropped), in order.
func (e *Examples) Select(list string) ([]*Template, error) {
	var kinds []*Template
	for _, k := range strings.Split(list, ",") {
		t := e.Kind(strings.TrimSpace(k))
		if t == nil {
			return nil, fmt.Errorf("unknown kind %q; want some of refused, answered, private", k)
		}
		kinds = append(kinds, t)
	}
	return kinds, nil
}

func readObject(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("example: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // numbers go back out exactly as they came in
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("example %s: want a JSON object: %w", path, err)
	}
	return m, nil
}

// marshal encodes v without HTML escaping, as a producer would send it.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ExamplesDir is dir, or by default ../shared/examples beside the module
// root (the nearest directory at or above the working directory holding
// go.mod), or ../shared/examples from the working directory outside a
// module.
func ExamplesDir(dir string) string {
	if dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "examples")
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "examples")
		}
		up := filepath.Dir(d)
		if up == d {
			return filepath.Join("..", "shared", "examples")
		}
		d = up
	}
}
