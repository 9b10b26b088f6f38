package schemas

import (
	"encoding/json"
	"testing"
)

func TestNamesAndIDs(t *testing.T) {
	want := []string{
		"access.v1", "amendment.v1", "append-challenge-response.v1", "append-challenge.v1",
		"append-contest.v1", "append-decision.v1", "append-resolution.v1",
		"challenge.v1", "challenge_response.v1",
		"common.v1", "constitution.v1", "contest.v1", "decision.v1",
		"envelope.v1", "receipt.v1", "resolution.v1", "shard.v1",
	}
	got := Names()
	if len(got) != len(want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Names() = %v, want %v", got, want)
		}
	}
	for _, name := range got {
		b, err := Read(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Schema string `json:"$schema"`
			ID     string `json:"$id"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.ID != ID(name) {
			t.Errorf("%s: $id = %q, want %q", name, doc.ID, ID(name))
		}
		if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %q, want draft 2020-12", name, doc.Schema)
		}
	}
}
