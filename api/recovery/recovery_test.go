package recovery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/recovery"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/ledger/signer"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/tile"
)

// source is a ledger server with a few thousand mixed records.
type source struct {
	*apitest.Server
	tokens map[string]string // decision id -> contest token (some)
	open   string            // a decision with an open contest
	ids    []string          // decision ids, in log order
}

// decision returns the request body of decision i: refusals, answers and
// modifications, some with private content, across jurisdictions and
// categories.
func decision(t *testing.T, i int) []byte {
	name := []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"}[i%3]
	var d map[string]any
	if err := json.Unmarshal(apitest.Example(t, name), &d); err != nil {
		t.Fatal(err)
	}
	d["decision_id"] = fmt.Sprintf("dec-r-%05d", i)
	d["subject"].(map[string]any)["jurisdiction"] = []string{"DE", "FR", "KE", "IN", "BR"}[i%5]
	d["outcome"].(map[string]any)["category"] = []string{"medical", "finance", "education", "legal"}[i%4]
	if i%7 == 0 {
		d["provenance_flags"] = []any{map[string]any{"code": "western-sources", "message": "mostly Western sources", "severity": "info"}}
	}
	b, _ := json.Marshal(d)
	return b
}

func newSource(t *testing.T, n int) *source {
	t.Helper()
	s := &source{Server: apitest.New(t), tokens: map[string]string{}}
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	for start := 0; start < n; start += 500 {
		var batch []json.RawMessage
		for i := start; i < min(start+500, n); i++ {
			batch = append(batch, decision(t, i))
		}
		body, _ := json.Marshal(batch)
		code, b := s.Do("POST", "/v1/decisions:batch", auth.Producer, body)
		if code != 200 {
			t.Fatalf("batch at %d: %d %s", start, code, b)
		}
		var ans record.BatchAnswer
		if err := json.Unmarshal(b, &ans); err != nil {
			t.Fatal(err)
		}
		for j, r := range ans.Results {
			if r.Error != nil {
				t.Fatalf("decision %d: %+v", start+j, r.Error)
			}
			var rc verify.Receipt
			if err := json.Unmarshal(r.Receipt, &rc); err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("dec-r-%05d", start+j)
			s.ids = append(s.ids, id)
			if (start+j)%97 == 1 {
				s.tokens[id] = rc.ContestToken
			}
		}
	}
	// Contests on some decisions, resolutions of two of them.
	n = 0
	for id, tok := range s.tokens {
		if n++; n > 6 {
			break
		}
		s.contest(t, id, tok, "con-"+id, 201)
		if n <= 2 {
			s.MustPost("/v1/contests/con-"+id+"/resolution", auth.Reviewer, apitest.Example(t, "resolution.json"))
		} else {
			s.open = id
		}
	}
	// A regulator's read of private content logs an access record.
	code, b := s.Do("GET", "/v1/decisions/dec-r-00002", auth.Regulator, nil, "X-Access-Purpose", "restore test")
	if code != 200 {
		t.Fatalf("private read: %d %s", code, b)
	}
	return s
}

func (s *source) contest(t *testing.T, id, token, contestID string, want int) []byte {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"contest_id": contestID, "decision_id": id, "contest_token": token,
		"grounds": map[string]string{"category": "false-refusal", "text": "grounds of " + id}, "remedy": "reconsider"})
	code, b := s.Do("POST", "/v1/contests", "", body)
	if code != want {
		t.Fatalf("contest %s of %s: %d %s, want %d", contestID, id, code, b, want)
	}
	return b
}

// serve starts a ledger server on a restored data directory, signing with
// the source's key.
func serve(t *testing.T, src *apitest.Server, dir string) *apitest.Server {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(src.Dir, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "log.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return apitest.New(t, apitest.WithDir(dir))
}

func fsck(t *testing.T, dir, vkey string) {
	t.Helper()
	st, err := badgerstore.OpenExisting(filepath.Join(dir, recovery.StoreDir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := ledger.Fsck(context.Background(), st, ledger.FsckOptions{Origin: apitest.DefaultOrigin, VerifierKeys: []string{vkey}})
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.FsckIndexes(context.Background(), st, rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Size == 0 {
		t.Fatalf("fsck of the restored store: size %d, problems %v", rep.Size, rep.Problems)
	}
}

func TestRestoreContinuesTheTree(t *testing.T) {
	src := newSource(t, 2600)
	head := src.Log.Head()
	dir := filepath.Join(t.TempDir(), "restored")
	var stages []string
	res, err := recovery.Restore(context.Background(), recovery.Config{URL: src.URL, VerifierKey: src.VKey, Dir: dir,
		Progress: func(stage string, done, total uint64) {
			if len(stages) == 0 || stages[len(stages)-1] != stage {
				stages = append(stages, stage)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != head.Size || string(res.Checkpoint) != string(head.Checkpoint) || res.UnknownKinds != 0 {
		t.Fatalf("restored size %d (unknown kinds %d), checkpoint %q; the source has size %d, %q", res.Size, res.UnknownKinds, res.Checkpoint, head.Size, head.Checkpoint)
	}
	if strings.Join(stages, ",") != "restore,reindex,fsck" {
		t.Errorf("progress stages %v", stages)
	}
	if _, err := os.Stat(filepath.Join(dir, "badger.restoring")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging directory left behind: %v", err)
	}
	fsck(t, dir, src.VKey)

	dst := serve(t, src.Server, dir)
	if got := dst.Log.Head(); got.Size != head.Size || !bytes.Equal(got.Root, head.Root) {
		t.Fatalf("restored head size %d root %x, want %d %x", got.Size, got.Root, head.Size, head.Root)
	}
	// Queries and stats over the restored ledger answer exactly as the
	// source's (same checkpoint, same records, same proofs).
	for _, q := range []string{
		"/v1/query?jurisdiction=DE&limit=1000",
		"/v1/query?action=refused&category=medical&limit=1000",
		"/v1/query?flag=western-sources&limit=1000",
		"/v1/query?contest_status=open&limit=1000",
		"/v1/query?contest_status=resolved",
		"/v1/query?kind=access",
		"/v1/stats?group_by=outcome,jurisdiction",
		"/v1/stats?group_by=rule&jurisdiction=KE",
		"/v1/stats?group_by=category",
	} {
		c1, want := src.Do("GET", q, auth.Regulator, nil)
		c2, got := dst.Do("GET", q, auth.Regulator, nil)
		if c1 != 200 || c2 != 200 || !bytes.Equal(got, want) {
			t.Errorf("GET %s: restored %d %.300s\nsource %d %.300s", q, c2, got, c1, want)
		}
	}
	// The records' dedup keys and the book's keys came back: a record is
	// found by id, a contest token works, the open-contest rule holds.
	for i, id := range []string{src.ids[0], src.ids[1234], src.ids[len(src.ids)-1]} {
		a, errA := src.Book.Get(audit.KindDecision, id)
		b, errB := dst.Book.Get(audit.KindDecision, id)
		if errA != nil || errB != nil || a.Index != b.Index || !bytes.Equal(a.Entry, b.Entry) {
			t.Errorf("decision %d %s: source %v %v, restored %v %v", i, id, a, errA, b, errB)
		}
	}
	src.Close() // the source is gone for good: only one ledger signs for a log
	open, fresh := src.open, ""
	for id := range src.tokens {
		if _, err := dst.Book.Get(audit.KindContest, "con-"+id); errors.Is(err, audit.ErrNotFound) {
			fresh = id
		}
	}
	if open == "" || fresh == "" {
		t.Fatalf("fixture: no contested (%q) or uncontested (%q) decision with a token", open, fresh)
	}
	rs := &source{Server: dst}
	rs.contest(t, open, src.tokens[open], "con-again", 409)
	rs.contest(t, fresh, src.tokens[fresh], "con-after-restore", 201)

	// A resubmission of a record logged before the restore is found, not
	// logged again; its request digest is not in the public copy, so it is
	// answered as a conflict instead of with the first receipt.
	size := dst.Log.Head().Size
	if code, b := dst.Do("POST", "/v1/decisions", auth.Producer, decision(t, 5)); code != 409 || !strings.Contains(string(b), "restored from its public copy") || dst.Log.Head().Size != size {
		t.Errorf("resubmission after restore: %d %s, size %d -> %d", code, b, size, dst.Log.Head().Size)
	}

	// The restored ledger appends, and its new checkpoint is consistent
	// with the source's last.
	for i := 9000; i < 9010; i++ {
		dst.MustPost("/v1/decisions", auth.Producer, decision(t, i))
	}
	next := dst.Log.Head()
	cp, err := verify.OpenCheckpoint(next.Checkpoint, src.Origin, src.VKey)
	if err != nil {
		t.Fatalf("the restored ledger's checkpoint does not verify with the source's key: %v", err)
	}
	if cp.Size != head.Size+11 {
		t.Errorf("new size %d, want %d", cp.Size, head.Size+11)
	}
	proof, err := dst.Log.ConsistencyProof(head.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	var tp tlog.TreeProof
	for _, h := range proof {
		tp = append(tp, tlog.Hash(h))
	}
	if err := tlog.CheckTree(tp, int64(cp.Size), tlog.Hash(cp.Hash), int64(head.Size), tlog.Hash(head.Root)); err != nil {
		t.Fatalf("the restored ledger's checkpoint is not consistent with the source's: %v", err)
	}
	dst.Close()
	fsck(t, dir, src.VKey)

	// Every dedup key, and every key of the book the records imply, is
	// exactly the source's (the restored log has more since).
	want, got := storeKeys(t, src.Dir), storeKeys(t, dir)
	n := 0
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %q: restored %x, source %x", k, got[k], v)
		}
		n++
	}
	if n < 2600 || len(got) <= len(want) {
		t.Errorf("%d source keys, %d restored: want thousands, and more restored", len(want), len(got))
	}
}

// storeKeys returns the dedup keys ("d", with the index they hold but not
// the request digest a record's may hold after it) and the book's keys the
// records imply ("x" c/, th/, cd/) of the closed store in the data
// directory dir.
func storeKeys(t *testing.T, dir string) map[string]string {
	t.Helper()
	st, err := badgerstore.OpenExisting(filepath.Join(dir, recovery.StoreDir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string]string{}
	err = st.DB().View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := string(it.Item().Key())
			if !strings.HasPrefix(k, "d") && !strings.HasPrefix(k, "xc/") && !strings.HasPrefix(k, "xth/") && !strings.HasPrefix(k, "xcd/") {
				continue
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if strings.HasPrefix(k, "d") && len(v) > 8 {
				// the index; what follows is a request digest, private
				// state that the public copy does not hold (a backup does)
				v = v[:8]
			}
			out[k] = string(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tamper serves the log at url with one byte of entry bundle 2 flipped.
func tamper(t *testing.T, url string) string {
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(url + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.HasPrefix(r.URL.Path, "/tile/entries/002") && len(b) > 300 {
			b[300] ^= 0x01
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(b)
	}))
	t.Cleanup(p.Close)
	return p.URL
}

func TestRestoreRefusesWhatTheKeyDoesNotProve(t *testing.T) {
	src := newSource(t, 700)
	_, otherVKey, err := signer.GenerateKey(rand.Reader, apitest.DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	for _, c := range []struct {
		name, url, vkey, dir, want string
	}{
		{"one byte of one bundle changed", tamper(t, src.URL), src.VKey, filepath.Join(t.TempDir(), "new"), "does not match the authenticated leaf hash"},
		{"checkpoint signed by another key", src.URL, otherVKey, filepath.Join(t.TempDir(), "new"), "does NOT verify"},
		{"tampered, into an existing empty dir", tamper(t, src.URL), src.VKey, empty, "does not match the authenticated leaf hash"},
	} {
		_, err := recovery.Restore(context.Background(), recovery.Config{URL: c.url, VerifierKey: c.vkey, Dir: c.dir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
		ents, statErr := os.ReadDir(c.dir)
		if c.dir == empty && (statErr != nil || len(ents) != 0) {
			t.Errorf("%s: the existing dir holds %d entries afterwards (%v), want it left empty", c.name, len(ents), statErr)
		}
		if c.dir != empty && !errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("%s: the new dir is left behind (%v)", c.name, statErr)
		}
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	if _, err := recovery.Restore(context.Background(), recovery.Config{URL: src.URL, VerifierKey: src.VKey, Dir: full}); !errors.Is(err, recovery.ErrDirNotEmpty) {
		t.Errorf("restore into a non-empty dir: %v, want ErrDirNotEmpty", err)
	}
	if _, err := os.Stat(filepath.Join(full, "x")); err != nil {
		t.Errorf("the non-empty dir was changed: %v", err)
	}
}

func TestBackupOfThePrivatePart(t *testing.T) {
	src := apitest.New(t)
	src.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	for i := 2; i < 30; i += 3 { // decision-modified-private: private content
		src.MustPost("/v1/decisions", auth.Producer, decision(t, i))
	}
	src.MustPost("/v1/decisions", auth.Producer, decision(t, 30)) // a public one
	src.Close()
	archive := filepath.Join(t.TempDir(), "private.tar.gz")
	m, err := recovery.Backup(context.Background(), src.Dir, archive)
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != 12 || m.IndexKeys == 0 || len(m.Files) < 2 {
		t.Fatalf("manifest %+v", m)
	}
	if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v %v, want mode 0600", fi, err)
	}

	// After the backup, the ledger erases one decision's private content
	// and logs more.
	live := apitest.New(t, apitest.WithDir(src.Dir))
	erased := "dec-r-00005"
	if code, b := live.Do("DELETE", "/v1/decisions/"+erased+"/private", auth.Operator, nil); code != 200 && code != 204 {
		t.Fatalf("erase: %d %s", code, b)
	}
	if _, err := live.Book.Private(audit.KindDecision, erased); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("erased content still readable: %v", err)
	}
	live.MustPost("/v1/decisions", auth.Producer, decision(t, 101))

	// Recovery: public copy, then the private backup.
	dir := filepath.Join(t.TempDir(), "restored")
	if _, err := recovery.Restore(context.Background(), recovery.Config{URL: live.URL, VerifierKey: live.VKey, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	// A truncated archive is refused and leaves no vault and no secret; the
	// whole one is restored after it.
	whole, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.tar.gz")
	os.WriteFile(cut, whole[:len(whole)*2/3], 0o600)
	if _, err := recovery.RestorePrivate(context.Background(), cut, dir); err == nil {
		t.Fatal("a truncated archive was restored")
	}
	for _, f := range []string{"digest.secret", "vault", ".private.restoring"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused truncated archive left %s: %v", f, err)
		}
	}
	if _, err := recovery.RestorePrivate(context.Background(), archive, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := recovery.RestorePrivate(context.Background(), archive, dir); !errors.Is(err, recovery.ErrDirNotEmpty) {
		t.Errorf("second private restore: %v, want ErrDirNotEmpty", err)
	}
	live.Close()
	dst := serve(t, src, dir)
	// The documented consequence: content erased after the backup is
	// readable again from it.
	got, err := dst.Book.Private(audit.KindDecision, erased)
	if err != nil || !strings.Contains(got["request"], "निवेश") {
		t.Fatalf("private content of %s after the private restore: %v %v", erased, got, err)
	}
	// Content kept throughout is back too; content logged after the
	// backup is not in it.
	if got, err := dst.Book.Private(audit.KindDecision, "dec-r-00002"); err != nil || got["response"] == "" {
		t.Errorf("private content of dec-r-00002: %v %v", got, err)
	}
	if _, err := dst.Book.Private(audit.KindDecision, "dec-r-00101"); !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("private content logged after the backup: %v, want ErrNotFound", err)
	}
	// A resubmission of a request logged before the backup gets its first
	// receipt again (its digest and the secret came back).
	size := dst.Log.Head().Size
	if code, b := dst.Do("POST", "/v1/decisions", auth.Producer, decision(t, 8)); code != 200 || dst.Log.Head().Size != size {
		t.Errorf("resubmission after the private restore: %d %s", code, b)
	}
	// So does a public one, whose digest the ledger kept with its dedup
	// key, which the public copy does not hold: the backup carried it.
	if code, b := dst.Do("POST", "/v1/decisions", auth.Producer, decision(t, 30)); code != 200 || dst.Log.Head().Size != size {
		t.Errorf("resubmission of a public decision after the private restore: %d %s", code, b)
	}
	dst.MustPost("/v1/decisions", auth.Producer, decision(t, 102)) // seals under a new vault slot
	dst.Close()
	fsck(t, dir, src.VKey)

	// A backup is refused by a data directory whose log is another one.
	other := apitest.New(t)
	other.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	for i := 0; i < 20; i++ {
		other.MustPost("/v1/decisions", auth.Producer, decision(t, 500+i))
	}
	odir := filepath.Join(t.TempDir(), "other")
	if _, err := recovery.Restore(context.Background(), recovery.Config{URL: other.URL, VerifierKey: other.VKey, Dir: odir}); err != nil {
		t.Fatal(err)
	}
	if _, err := recovery.RestorePrivate(context.Background(), archive, odir); !errors.Is(err, recovery.ErrMismatch) {
		t.Errorf("private restore into another log: %v, want ErrMismatch", err)
	}
	for _, f := range []string{"digest.secret", "vault"} {
		if _, err := os.Stat(filepath.Join(odir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("refused restore wrote %s: %v", f, err)
		}
	}
}

// mirror writes the log of s as a bucket holds it (tlog-tiles objects
// only: the checkpoint, every hash tile and entry bundle, full and the
// right-edge partial ones) into dir.
func mirror(t *testing.T, s *apitest.Server, dir string) {
	t.Helper()
	head := s.Log.Head()
	write := func(p string, b []byte) {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("checkpoint", head.Checkpoint)
	for level := 0; head.Size>>(8*level) > 0; level++ {
		n := head.Size >> (8 * level)
		for i := uint64(0); i*256 < n; i++ {
			w := int(min(256, n-i*256))
			tl := tile.Tile{Level: uint8(level), Index: i, Width: w}
			b, err := s.Log.Tile(uint8(level), i, w)
			if err != nil {
				t.Fatal(err)
			}
			write(tl.Path(), b)
			if level == 0 {
				tl.Entries = true
				if b, err = s.Log.EntryBundle(i, w); err != nil {
					t.Fatal(err)
				}
				write(tl.Path(), b)
			}
		}
	}
}

// TestRestoreFromABucket restores from a plain static file server under a
// path prefix, as a bucket (or its CDN) serves a published log: no ledgerd
// API at all.
func TestRestoreFromABucket(t *testing.T) {
	src := newSource(t, 900)
	bucket := t.TempDir()
	mirror(t, src.Server, bucket)
	hs := httptest.NewServer(http.StripPrefix("/bucket/fja/2026", http.FileServer(http.Dir(bucket))))
	t.Cleanup(hs.Close)
	dir := filepath.Join(t.TempDir(), "restored")
	res, err := recovery.Restore(context.Background(), recovery.Config{URL: hs.URL + "/bucket/fja/2026/", VerifierKey: src.VKey, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if head := src.Log.Head(); res.Size != head.Size || !bytes.Equal(res.Checkpoint, head.Checkpoint) {
		t.Fatalf("restored %d %q, want %d %q", res.Size, res.Checkpoint, head.Size, head.Checkpoint)
	}
	fsck(t, dir, src.VKey)
}

// TestRestoreGovernanceRecords: a log with the whole governance chain
// (challenge, response, amendment, a constitution version adopting it,
// contests and resolutions) restores with every record's dedup key, and the
// rules view, the challenge and the stats answer as the source's.
func TestRestoreGovernanceRecords(t *testing.T) {
	src := apitest.New(t)
	seeded := src.SeedCalibration(5, 120)
	dir := filepath.Join(t.TempDir(), "restored")
	res, err := recovery.Restore(context.Background(), recovery.Config{URL: src.URL, VerifierKey: src.VKey, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.UnknownKinds != 0 || res.Size != src.Log.Head().Size {
		t.Fatalf("restored %d entries, %d of unknown kinds; source size %d", res.Size, res.UnknownKinds, src.Log.Head().Size)
	}
	dst := serve(t, src, dir)
	for _, q := range []string{"/v1/rules", "/v1/challenges/chl-5-h12", "/v1/stats?group_by=rule,outcome", "/v1/query?kind=amendment"} {
		c1, want := src.Do("GET", q, auth.Regulator, nil)
		c2, got := dst.Do("GET", q, auth.Regulator, nil)
		if c1 != 200 || c2 != 200 || !bytes.Equal(got, want) {
			t.Errorf("GET %s: restored %d %.300s\nsource %d %.300s", q, c2, got, c1, want)
		}
	}
	src.Close()
	dst.Close()
	want, got := storeKeys(t, src.Dir), storeKeys(t, dir)
	if len(want) < len(seeded.Decisions) || len(got) != len(want) {
		t.Errorf("%d keys restored, the source has %d (%d decisions)", len(got), len(want), len(seeded.Decisions))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %q: restored %x, source %x", k, got[k], v)
		}
	}
}

// TestBackupRefusesARotatedLedger: backup and private restore cover one
// shard's store and vault; on a data directory that has rotated they
// refuse (ErrRotated) rather than leave the later shards' keys out.
func TestBackupRefusesARotatedLedger(t *testing.T) {
	src := apitest.New(t)
	src.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	src.MustPost("/v1/decisions", auth.Producer, decision(t, 2))
	src.Close()
	archive := filepath.Join(t.TempDir(), "private.tar.gz")
	if _, err := recovery.Backup(context.Background(), src.Dir, archive); err != nil {
		t.Fatalf("backup before the rotation: %v", err)
	}
	if _, err := shard.Rotate(context.Background(), shard.RotateConfig{Dir: src.Dir, Origin: src.Origin + "/2",
		OldKey: filepath.Join(src.Dir, "log.key")}); err != nil {
		t.Fatal(err)
	}
	if _, err := recovery.Backup(context.Background(), src.Dir, filepath.Join(t.TempDir(), "b.tar.gz")); !errors.Is(err, recovery.ErrRotated) {
		t.Errorf("backup of a rotated ledger: %v, want ErrRotated", err)
	}
	if _, err := recovery.RestorePrivate(context.Background(), archive, src.Dir); !errors.Is(err, recovery.ErrRotated) {
		t.Errorf("private restore into a rotated ledger: %v, want ErrRotated", err)
	}
}
