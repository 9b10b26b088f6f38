package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
)

// erasable is a record whose private content the test erases: the request
// that logged it (the best guess of its content an attacker could make),
// the private texts in it, and every index value that mentions it, taken
// before erasure (sealed blobs and digests among them).
type erasable struct {
	kind    audit.Kind
	id      string
	request []byte
	secrets []string
	values  [][]byte
}

func (e *erasable) ref() string { return string(e.kind) + "/" + e.id }

// TestErasureLeavesNothing: after the private content of a decision and the
// grounds of a contest are erased over HTTP, nothing left in the data
// directory (Badger's value log, tables and manifest, the vault's key file,
// the digest secret, everything) can give the content back or confirm a
// guess of it:
//   - no file holds any of the private texts;
//   - no 32-byte window of any file, taken as a vault key, opens any sealed
//     blob the index held for the erased records;
//   - the digest of the exact erased request, keyed as the server keys
//     digests (with the server secret, or with a record's own vault key),
//     under the server secret or under any 32-byte window of any file,
//     appears in no file.
//
// A second private decision is left unerased, so that live keys and
// digests are in the files too: they must not serve either.
func TestErasureLeavesNothing(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()

	decReq := apitest.Example(t, "decision-modified-private.json")
	dec := &erasable{kind: audit.KindDecision, id: "dec-2026-11-27-000003", request: decReq,
		secrets: []string{"मुझे रिटायरमेंट के लिए कहाँ निवेश करना चाहिए?", "कई विकल्प हैं ... (भविष्य के रिटर्न अनिश्चित हैं)"}}
	for _, sec := range dec.secrets {
		if !bytes.Contains(decReq, []byte(sec)) {
			t.Fatalf("the example no longer holds %q: update the test", sec)
		}
	}
	b := s.MustPost("/v1/decisions", auth.Producer, decReq)
	token := s.receipt(b).ContestToken
	if token == "" {
		t.Fatal("no contest token in the receipt")
	}
	// another private decision, kept
	s.MustPost("/v1/decisions", auth.Producer, bytes.Replace(bytes.Replace(decReq,
		[]byte(dec.id), []byte("dec-kept"), 1), []byte(dec.secrets[0]), []byte("a prompt that stays"), 1))

	grounds := "मेरी निजी परिस्थितियाँ: the grounds of the contest, private content"
	conReq := contestBody(t, token, "dec-2026-11-27-000001", dec.id,
		"I am an adult asking for the dose printed on the package leaflet. This is not self-harm.", grounds)
	con := &erasable{kind: audit.KindContest, id: "con-2026-11-27-000001", request: conReq, secrets: []string{grounds}}
	if code, b := s.Do("POST", "/v1/contests", "", conReq); code != http.StatusCreated {
		t.Fatalf("contest: %d %s", code, b)
	}

	records := []*erasable{dec, con}
	for _, e := range records {
		// The content is there before erasure (read in process: the read
		// routes are tested elsewhere).
		p, err := s.Book.Private(e.kind, e.id)
		if err != nil {
			t.Fatalf("%s before erasure: %v", e.ref(), err)
		}
		for _, sec := range e.secrets {
			found := false
			for _, text := range p {
				found = found || text == sec
			}
			if !found {
				t.Fatalf("%s before erasure: private content %q lacks %q", e.ref(), p, sec)
			}
		}
		// Every index value under a key naming the record.
		if err := s.Index.Scan(context.Background(), nil, nil, func(k, v []byte) bool {
			if bytes.HasSuffix(k, []byte("/"+e.ref())) {
				e.values = append(e.values, bytes.Clone(v))
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(e.values) < 1 {
			t.Fatalf("%s: no index value names it, want its digest with its sealed content", e.ref())
		}
	}

	// Erase over HTTP: operator only; once; unknown ids are 404.
	for _, e := range records {
		path := "/v1/" + string(e.kind) + "s/" + e.id + "/private"
		if code, b := s.Do("DELETE", path, auth.Producer, nil); code != http.StatusForbidden {
			t.Fatalf("DELETE %s by a producer: %d %s, want 403", path, code, b)
		}
		code, b := s.Do("DELETE", path, auth.Operator, nil)
		want := map[string]any{string(e.kind) + "_id": e.id, "erased": true}
		var got map[string]any
		json.Unmarshal(b, &got)
		if code != http.StatusOK || len(got) != 2 || got[string(e.kind)+"_id"] != e.id || got["erased"] != true {
			t.Fatalf("DELETE %s: %d %s, want 200 %v", path, code, b, want)
		}
		if code, b := s.Do("DELETE", path, auth.Operator, nil); code != http.StatusNotFound {
			t.Fatalf("second DELETE %s: %d %s, want 404", path, code, b)
		}
		if _, err := s.Book.Private(e.kind, e.id); err == nil {
			t.Fatalf("%s: private content still readable after erasure", e.ref())
		}
	}
	for _, path := range []string{"/v1/contests/con-nope/private", "/v1/decisions/dec-nope/private"} {
		if code, b := s.Do("DELETE", path, auth.Operator, nil); code != http.StatusNotFound {
			t.Fatalf("DELETE %s: %d %s, want 404", path, code, b)
		}
	}
	// A public decision has nothing to erase.
	s.MustPost("/v1/decisions", auth.Producer, apitest.Example(t, "decision-answered.json"))
	if code, b := s.Do("DELETE", "/v1/decisions/dec-2026-11-27-000002/private", auth.Operator, nil); code != http.StatusNotFound {
		t.Fatalf("erasure of a public decision: %d %s, want 404", code, b)
	}
	// A resubmission of an erased record cannot be compared: a conflict,
	// even when it is the very same request.
	if code, b := s.Do("POST", "/v1/decisions", auth.Producer, decReq); code != http.StatusConflict || !strings.Contains(string(b), "erased") {
		t.Fatalf("resubmission of the erased decision: %d %s, want 409 naming the erasure", code, b)
	}
	if code, b := s.Do("POST", "/v1/contests", "", conReq); code != http.StatusConflict || !strings.Contains(string(b), "erased") {
		t.Fatalf("resubmission of the erased contest: %d %s, want 409 naming the erasure", code, b)
	}

	// Flush everything to disk, then read every file of the data directory.
	s.Close()
	files := map[string][]byte{}
	total := 0
	if err := filepath.Walk(s.Dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[p], total = data, total+len(data)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Badger compresses its tables (Snappy): read every version of every
	// key it still holds, deleted ones included, as Badger decodes them.
	stale := badgerContent(t, filepath.Join(s.Dir, "badger"))
	files["(badger: every key and value, all versions)"] = stale
	secret, err := os.ReadFile(filepath.Join(s.Dir, "digest.secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "vault", vault.KeyFile)); err != nil {
		t.Fatalf("the vault's key file: %v", err)
	}
	windows := windowsOf(files)
	t.Logf("%d files, %d bytes, %d distinct 32-byte windows", len(files), total, len(windows))
	for p, data := range files {
		t.Logf("  %s: %d bytes", strings.TrimPrefix(p, s.Dir), len(data))
	}

	for _, e := range records {
		for p, data := range files {
			for _, sec := range e.secrets {
				if bytes.Contains(data, []byte(sec)) {
					t.Errorf("%s holds private content of %s in clear", p, e.ref())
				}
			}
		}
		// The test looks where it should: the stale copies of the erased
		// values are still in Badger (no compaction ran), useless.
		for _, v := range e.values {
			if !bytes.Contains(stale, v) {
				t.Errorf("%s: a value erased from the index is no longer in Badger's files: this test no longer sees stale copies", e.ref())
			}
		}
		digests, err := audit.RequestDigester(e.kind, e.request)
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, key []byte) {
			asSecret, asRecordKey := digests(key)
			for _, d := range [][]byte{asSecret, asRecordKey} {
				if _, ok := windows[[32]byte(d)]; ok {
					t.Errorf("%s: the data directory holds the digest of the erased request under %s: a guess can be confirmed", e.ref(), what)
				}
			}
		}
		check("the server secret", secret)
		// The sealed blobs the index held: as stored, past a slot number
		// of 8 bytes, and past a digest keyed with the record's vault key
		// (a tag, a slot and a MAC: 41 bytes), whatever the layout.
		var blobs [][]byte
		for _, v := range e.values {
			for _, skip := range []int{0, 8, 1 + 8 + 32} {
				if len(v) > skip {
					blobs = append(blobs, v[skip:])
				}
			}
		}
		for w := range windows {
			key := w[:]
			for _, blob := range blobs {
				if pt, err := vault.Unseal(key, e.ref(), blob); err == nil {
					t.Fatalf("%s: a window of the data directory (%x) opens its erased content: %q", e.ref(), key, pt)
				}
			}
			check("a 32-byte window of the data directory", key)
		}
	}
}

// windowsOf returns the distinct 32-byte windows of the files (the
// all-zero window, a destroyed slot, always among them).
func windowsOf(files map[string][]byte) map[[32]byte]struct{} {
	out := map[[32]byte]struct{}{{}: {}}
	for _, data := range files {
		lastNonZero := -1 // in data[:i+32]
		for i := 0; i+32 <= len(data); i++ {
			if i == 0 {
				for j := 0; j < 32; j++ {
					if data[j] != 0 {
						lastNonZero = j
					}
				}
			} else if data[i+31] != 0 {
				lastNonZero = i + 31
			}
			if lastNonZero < i {
				continue
			}
			out[[32]byte(data[i:i+32])] = struct{}{}
		}
	}
	return out
}

// badgerContent returns every key and value of every version Badger holds
// in dir (deleted and superseded ones included), concatenated.
func badgerContent(t *testing.T, dir string) []byte {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithReadOnly(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []byte
	err = db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.AllVersions = true
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(append(out, item.Key()...), v...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
