package tile

import (
	"bytes"
	"testing"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/234.p/17", "tile/entries/x018/x446/x744/x073/x709/x551/615", "tile/0/x000/001", "tile/63/999.p/255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		tt, err := ParsePath(p)
		if err != nil {
			return
		}
		// Only canonical paths parse: printing the tile gives the input back.
		if got := tt.Path(); got != p {
			t.Fatalf("ParsePath(%q) = %+v, whose Path() is %q", p, tt, got)
		}
		if tt.Width < 1 || tt.Width > Width || tt.Level > MaxLevel || (tt.Entries && tt.Level != 0) {
			t.Fatalf("ParsePath(%q) = %+v, out of range", p, tt)
		}
	})
}

func FuzzParseIndex(f *testing.F) {
	f.Add("000", uint64(0))
	f.Add("x001/x234/067", uint64(1234067))
	f.Add("x018/x446/x744/x073/x709/x551/616", uint64(1<<64-1))
	f.Fuzz(func(t *testing.T, s string, n uint64) {
		if got, err := ParseIndex(EncodeIndex(n)); err != nil || got != n {
			t.Fatalf("ParseIndex(EncodeIndex(%d) = %q) = %d, %v", n, EncodeIndex(n), got, err)
		}
		v, err := ParseIndex(s)
		if err != nil {
			return
		}
		if got := EncodeIndex(v); got != s {
			t.Fatalf("ParseIndex(%q) = %d, which encodes as %q", s, v, got)
		}
	})
}

func FuzzParseBundle(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 1, 'd'})
	f.Add([]byte{0, 5, 'a'})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseBundle(data)
		if err != nil {
			// Truncated: no prefix-consistent split reaches the end.
			return
		}
		var again []byte
		for _, e := range entries {
			if again, err = AppendBundleEntry(again, e); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("bundle does not round-trip: %x -> %q -> %x", data, entries, again)
		}
	})
}
