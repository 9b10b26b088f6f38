package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// A stamp's KV.Dedup value is stored with the entry's dedup key, in
// batches where other entries have none, and read back by DedupValue, after
// a reopen too; a resubmission of the key keeps the first value; a stamp
// with two such values, or one too long, fails its own append only.
func TestDedupValues(t *testing.T) {
	tl := newTestLog(t, nil)
	ctx := context.Background()
	stamp := func(entry string, kvs ...ledger.KV) ledger.StampFunc {
		return func(uint64, time.Time) ([]byte, []ledger.KV, error) { return []byte(entry), kvs, nil }
	}
	if _, err := tl.Append(ctx, []byte("plain first")); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"with": []byte("digest of with"), "without": nil, "longest": bytes.Repeat([]byte{7}, ledger.MaxDedupValue)}
	for _, k := range []string{"with", "without", "longest"} {
		var kvs []ledger.KV
		if want[k] != nil {
			kvs = append(kvs, ledger.KV{Dedup: true, Value: want[k]}, ledger.KV{Key: []byte("index/" + k), Value: []byte("v")})
		}
		if _, err := tl.AppendStamped(ctx, []byte(k), stamp("entry "+k, kvs...)); err != nil {
			t.Fatal(err)
		}
	}
	if a, err := tl.AppendStamped(ctx, []byte("with"), stamp("entry with, again", ledger.KV{Dedup: true, Value: []byte("another")})); err != nil || !a.Duplicate {
		t.Fatalf("resubmitted key: %v, duplicate %v", err, a != nil && a.Duplicate)
	}
	for name, kvs := range map[string][]ledger.KV{
		"two values": {{Dedup: true, Value: []byte("a")}, {Dedup: true, Value: []byte("b")}},
		"too long":   {{Dedup: true, Value: make([]byte, ledger.MaxDedupValue+1)}},
	} {
		if _, err := tl.AppendStamped(ctx, []byte(name), stamp(name, kvs...)); !errors.Is(err, ledger.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
		if _, ok, err := tl.LookupKey([]byte(name)); ok || err != nil {
			t.Errorf("%s: logged (%v, %v)", name, ok, err)
		}
	}
	check := func(l *ledger.Log, when string) {
		for k, w := range want {
			v, ok, err := l.DedupValue([]byte(k))
			if err != nil || !ok || !bytes.Equal(v, w) {
				t.Errorf("%s: DedupValue(%q) = %q, %v, %v; want %q", when, k, v, ok, err, w)
			}
		}
		if v, ok, err := l.DedupValue([]byte("never")); ok || err != nil || len(v) != 0 {
			t.Errorf("%s: DedupValue of a key never logged: %q, %v, %v", when, v, ok, err)
		}
	}
	check(tl.Log, "appended")
	if err := tl.Log.Close(); err != nil {
		t.Fatal(err)
	}
	l := openLog(t, tl.dir, tl.signer, nil)
	tl.Log = l
	check(l, "reopened")
	if k, ok := ledger.StampedKey([]byte("kdecision/x")); !ok || string(k) != "decision/x" {
		t.Errorf("StampedKey of a stamped entry's dedup key: %q, %v", k, ok)
	}
	if _, ok := ledger.StampedKey(append([]byte{'h'}, make([]byte, 32)...)); ok {
		t.Error("StampedKey of a plain entry's leaf-hash key: ok")
	}
}
