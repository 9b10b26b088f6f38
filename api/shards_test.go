package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// TestShardRoutesOneShard: a log never rotated is shard 1: GET /v1/log
// lists it as active, /shards/1/ serves the root's checkpoint and tiles,
// and a bad or unknown shard number is a 400 naming n or a 404.
// (A log with frozen shards: cmd/ledgerd's TestRotationJourney.)
func TestShardRoutesOneShard(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	code, b := s.do("GET", "/v1/log", "", nil)
	var info record.LogInfo
	if code != http.StatusOK || json.Unmarshal(b, &info) != nil {
		t.Fatalf("GET /v1/log: %d %s", code, b)
	}
	if len(info.Shards) != 1 || info.Shards[0].N != 1 || info.Shards[0].State != record.ShardActive ||
		info.Shards[0].VKey != s.vkey || info.Shards[0].URL != "/shards/1/" || info.Shards[0].TreeSize != info.TreeSize ||
		info.Shards[0].FirstLoggedAt == "" || *info.Shards[0].LastIndex != info.TreeSize-1 {
		t.Fatalf("shards of a log never rotated: %+v", info.Shards)
	}
	code, cp := s.do("GET", "/shards/1/checkpoint", "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /shards/1/checkpoint: %d %s", code, cp)
	}
	if c, err := verify.OpenCheckpoint(cp, info.Origin, s.vkey); err != nil || c.Size != info.TreeSize {
		t.Fatalf("shard 1 checkpoint: %v", err)
	}
	_, root := s.do("GET", "/tile/entries/000.p/1", "", nil)
	if code, tile := s.do("GET", "/shards/1/tile/entries/000.p/1", "", nil); code != http.StatusOK || string(tile) != string(root) {
		t.Fatalf("GET /shards/1/tile/entries/000.p/1: %d, same as the root's: %v", code, string(tile) == string(root))
	}
	for path, want := range map[string]struct {
		code  int
		field string
	}{
		"/shards/0/checkpoint":       {http.StatusBadRequest, "n"},
		"/shards/01/checkpoint":      {http.StatusBadRequest, "n"},
		"/shards/x/tile/0/000":       {http.StatusBadRequest, "n"},
		"/shards/2/checkpoint":       {http.StatusNotFound, ""},
		"/shards/2/tile/entries/000": {http.StatusNotFound, ""},
	} {
		code, b := s.do("GET", path, "", nil)
		var e struct {
			Error record.ErrorBody `json:"error"`
		}
		if code != want.code || json.Unmarshal(b, &e) != nil || e.Error.Message == "" || e.Error.Field != want.field {
			t.Errorf("GET %s: %d %s, want %d naming field %q", path, code, b, want.code, want.field)
		}
	}
}
