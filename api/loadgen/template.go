package loadgen

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// A Template is one example decision with holes where each generated copy
// differs: its decision id, the 64 hex digits of each commitment and subject
// ref it has, and a suffix of each private text it has. Everything else is
// the example's bytes, encoded once.
type Template struct {
	Name string // the kind: "refused", "answered", "private"
	File string // the example file it was made from

	parts    [][]byte // len(holes)+1 literal pieces around the holes
	holes    []hole
	idPrefix []byte
}

type hole int

const (
	holeID   hole = iota // the decision id
	holeHex              // 64 random hex digits
	holeText             // a suffix that makes a private text unique
)

// Hole markers: plain ASCII that survives JSON encoding unchanged and
// cannot occur in the examples.
const (
	markID   = "@@loadgen-id@@"
	markHex  = "@@loadgen-hex@@"
	markText = "@@loadgen-text@@"
)

// compile makes the template of the example decision in path, citing the
// constitution id and version.
func compile(path, kind, run, constitutionID, version string) (*Template, error) {
	m, err := readObject(path)
	if err != nil {
		return nil, err
	}
	if _, ok := m["decision_id"].(string); !ok {
		return nil, fmt.Errorf("example %s: want a decision with a string decision_id, got %T", path, m["decision_id"])
	}
	m["decision_id"] = markID
	m["constitution"] = map[string]any{"id": constitutionID, "version": version}
	if s, ok := m["subject"].(map[string]any); ok {
		if _, ok := s["ref"].(string); ok {
			s["ref"] = "sha256:" + markHex
		}
	}
	for _, f := range []string{"request", "response"} {
		if c, ok := m[f].(map[string]any); ok {
			if _, ok := c["commitment"].(string); ok {
				c["commitment"] = "sha256:" + markHex
			}
		}
	}
	if p, ok := m["private"].(map[string]any); ok {
		for k, v := range p {
			if s, ok := v.(string); ok {
				p[k] = s + " " + markText
			}
		}
	}
	b, err := marshal(m)
	if err != nil {
		return nil, err
	}
	t := &Template{Name: kind, File: path, idPrefix: []byte("bench-" + run + "-" + kind + "-")}
	for len(b) > 0 {
		i, h, n := nextMark(b)
		if i < 0 {
			t.parts = append(t.parts, b)
			break
		}
		t.parts = append(t.parts, b[:i])
		t.holes = append(t.holes, h)
		b = b[i+n:]
	}
	if len(t.parts) == len(t.holes) { // the body ended with a hole
		t.parts = append(t.parts, nil)
	}
	if n := t.count(holeID); n != 1 {
		return nil, fmt.Errorf("example %s: want 1 decision id hole, got %d", path, n)
	}
	return t, nil
}

// nextMark finds the first marker in b: its offset (-1 if none), the hole
// it stands for and its length.
func nextMark(b []byte) (int, hole, int) {
	best, bh, bn := -1, hole(0), 0
	for _, m := range []struct {
		s string
		h hole
	}{{markID, holeID}, {markHex, holeHex}, {markText, holeText}} {
		if i := bytes.Index(b, []byte(m.s)); i >= 0 && (best < 0 || i < best) {
			best, bh, bn = i, m.h, len(m.s)
		}
	}
	return best, bh, bn
}

func (t *Template) count(h hole) int {
	n := 0
	for _, x := range t.holes {
		if x == h {
			n++
		}
	}
	return n
}

// HasPrivate reports whether the decisions carry a private section.
func (t *Template) HasPrivate() bool { return t.count(holeText) > 0 }

// Append appends the body of the decision numbered seq to dst and returns
// the extended slice. Two calls with different seq give different decision
// ids and private texts; the commitments and subject ref are random from
// rng (which must not be shared between goroutines).
func (t *Template) Append(dst []byte, seq uint64, rng *rand.Rand) []byte {
	var raw [32]byte
	var hx [64]byte
	for i, h := range t.holes {
		dst = append(dst, t.parts[i]...)
		switch h {
		case holeID:
			dst = append(dst, t.idPrefix...)
			dst = strconv.AppendUint(dst, seq, 10)
		case holeHex:
			for j := 0; j < 32; j += 8 {
				v := rng.Uint64()
				for k := range 8 {
					raw[j+k] = byte(v >> (8 * k))
				}
			}
			hex.Encode(hx[:], raw[:])
			dst = append(dst, hx[:]...)
		case holeText:
			dst = append(dst, '#')
			dst = strconv.AppendUint(dst, seq, 10)
			dst = append(dst, '-')
			dst = strconv.AppendUint(dst, rng.Uint64()%1e9, 36)
		}
	}
	return append(dst, t.parts[len(t.holes)]...)
}

// GenerationCost measures the CPU time this process spends generating one
// body of the template, by generating n of them on one goroutine. Call it
// while the process does nothing else: it reads the CPU time of the whole
// process.
func (t *Template) GenerationCost(n int) time.Duration {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 4096)
	c0 := selfCPU()
	for i := range n {
		buf = t.Append(buf[:0], uint64(i), rng)
	}
	return (selfCPU() - c0) / time.Duration(max(n, 1))
}
