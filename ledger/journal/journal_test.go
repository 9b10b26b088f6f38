package journal

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func records(n int) [][]byte {
	var rs [][]byte
	for i := range n {
		rs = append(rs, bytes.Repeat([]byte{byte(i + 1)}, 10*i+1))
	}
	return rs
}

func appendAll(t *testing.T, j *Journal, rs [][]byte) {
	t.Helper()
	for _, r := range rs {
		if err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
}

func same(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d is %x, want %x", i, got[i], want[i])
		}
	}
}

// Records come back whole and in order after a reopen; Reset empties the
// journal and appends go on after it.
func TestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "journal")
	j, got, cut, err := Open(p)
	if err != nil || len(got) != 0 || cut != 0 {
		t.Fatalf("a new journal: %d records, cut %d, %v", len(got), cut, err)
	}
	rs := slices.Insert(records(5), 2, []byte{}) // an empty payload is a record too
	appendAll(t, j, rs)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, got, cut, err = Open(p)
	if err != nil || cut != 0 {
		t.Fatalf("reopen: cut %d, %v", cut, err)
	}
	same(t, got, rs)
	appendAll(t, j, rs[:2])
	if err := j.Reset(); err != nil || j.Size() != 0 {
		t.Fatalf("reset: size %d, %v", j.Size(), err)
	}
	appendAll(t, j, rs[3:])
	j.Close()
	j, got, _, err = Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	same(t, got, rs[3:])
}

// A record cut anywhere, or changed, ends the journal before it: Open
// returns the records before it, cuts the rest, and the next Append
// follows the last whole record.
func TestTornTail(t *testing.T) {
	rs := records(4)
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole")
	j, _, _, err := Open(whole)
	if err != nil {
		t.Fatal(err)
	}
	appendAll(t, j, rs)
	j.Close()
	data, err := os.ReadFile(whole)
	if err != nil {
		t.Fatal(err)
	}
	last := int64(len(data)) - (headerSize + int64(len(rs[3])))
	damage := map[string][]byte{}
	for n := last; n < int64(len(data)); n++ {
		damage[fmt.Sprintf("cut at %d", n)] = data[:n]
	}
	flipped := bytes.Clone(data)
	flipped[len(flipped)-1] ^= 1
	damage["payload changed"] = flipped
	long := bytes.Clone(data)
	long[last] = 0x7f // a length past the end
	damage["length past the end"] = long
	for name, d := range damage {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "journal")
			if err := os.WriteFile(p, d, 0o600); err != nil {
				t.Fatal(err)
			}
			j, got, cut, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			same(t, got, rs[:3])
			if cut != int64(len(d))-last || j.Size() != last {
				t.Fatalf("cut %d bytes to a size of %d, want %d to %d", cut, j.Size(), int64(len(d))-last, last)
			}
			if err := j.Append([]byte("next")); err != nil {
				t.Fatal(err)
			}
			j.Close()
			j, got, cut, err = Open(p)
			if err != nil || cut != 0 {
				t.Fatalf("reopen: cut %d, %v", cut, err)
			}
			j.Close()
			same(t, got, append(rs[:3:3], []byte("next")))
		})
	}
}
