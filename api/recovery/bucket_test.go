package recovery_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/recovery"
	"github.com/fjaledger/fja/ledger/publish"
	"github.com/fjaledger/fja/ledger/publish/s3test"
	"github.com/fjaledger/fja/verify"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// TestRestoreFromS3: the log published by ledger/publish to a real
// S3-compatible server (versitygw on loopback) is restored from the
// bucket's public URL alone; the restored ledger passes fsck, and its next
// checkpoint, signed with the same key, is consistent with the bucket's.
func TestRestoreFromS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	srv.PublicBucket("ledger")
	src := newSource(t, 1500)
	b, err := publish.NewBucket(context.Background(), "s3://ledger/fja/2026", publish.ClientOptions{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := publish.Start(publish.Config{Log: src.Log, Origin: src.Origin, VerifierKey: src.VKey, Bucket: b, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	head := src.Log.Head()
	for p.Published() < head.Size {
		if err := p.Stopped(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Close()
	src.Close() // the bucket is all that is left

	dir := filepath.Join(t.TempDir(), "restored")
	res, err := recovery.Restore(context.Background(), recovery.Config{URL: srv.URL + "/ledger/fja/2026", VerifierKey: src.VKey, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	bucketCP, err := verify.OpenCheckpoint(res.Checkpoint, src.Origin, src.VKey)
	if err != nil || bucketCP.Size != head.Size {
		t.Fatalf("restored from the bucket's checkpoint %q (%v), want size %d", res.Checkpoint, err, head.Size)
	}
	fsck(t, dir, src.VKey)
	dst := serve(t, src.Server, dir)
	for i := 7000; i < 7005; i++ {
		dst.MustPost("/v1/decisions", auth.Producer, decision(t, i))
	}
	next, err := verify.OpenCheckpoint(dst.Log.Head().Checkpoint, src.Origin, src.VKey)
	if err != nil {
		t.Fatal(err)
	}
	proof, err := dst.Log.ConsistencyProof(bucketCP.Size, next.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify.Consistency(bucketCP.Size, next.Size, proof, bucketCP.Hash, next.Hash); err != nil {
		t.Fatalf("the restored ledger's checkpoint is not consistent with the bucket's: %v", err)
	}
	var tp tlog.TreeProof
	for _, h := range proof {
		tp = append(tp, tlog.Hash(h))
	}
	if err := tlog.CheckTree(tp, int64(next.Size), tlog.Hash(next.Hash), int64(bucketCP.Size), tlog.Hash(bucketCP.Hash)); err != nil || next.Size != head.Size+5 {
		t.Fatalf("x/mod tlog: %v (size %d, want %d)", err, next.Size, head.Size+5)
	}
	dst.Close()
	fsck(t, dir, src.VKey)
}
