package monitor

import (
	"reflect"
	"testing"
)

const (
	noteA = "example.org/log\n3\nq9LiH/uhLIwj2a4RZaptk/ubJTohqZqo2QzRpNmiptM=\n\n\u2014 example.org/log AAAA\n"
	noteB = "example.org/log\n4\nVSLZ2Y3WZ7VelY0r3hGA/Z+SU46A2ai1cBY3LzqZPyI=\next\n\n\u2014 example.org/log BBBB\n\u2014 witness CCCC\n"
)

func TestParseCheckpoints(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one", noteA, []string{noteA}},
		{"blank separated", noteA + "\n" + noteB, []string{noteA, noteB}},
		{"many blanks and comments", "# gossip\n\n" + noteA + "\n\n\n# from a witness\n" + noteB + "\n", []string{noteA, noteB}},
		{"no separator", noteA + noteB, []string{noteA, noteB}},
		{"no final newline", noteA[:len(noteA)-1], []string{noteA}},
		{"empty", "\n\n", nil},
	} {
		var got []string
		for _, n := range ParseCheckpoints([]byte(tc.in)) {
			got = append(got, string(n))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := LoadState(dir, "o", "o+1+k")
	if err != nil || s.Checked != 0 || s.Checkpoint != "" {
		t.Fatalf("new state: %+v %v", s, err)
	}
	r := uint64(7)
	s.Checked, s.LastLoggedAt = 9, "2026-11-27T10:00:00Z"
	s.Constitutions["c@1"] = []string{"H-1"}
	s.Contests["k"] = &ContestState{Index: 5, DecisionID: "d", DueBy: "2027-01-01T00:00:00Z", Resolution: &r}
	c := s.clone()
	c.Contests["k"].Index = 6
	c.Constitutions["c@1"][0] = "X"
	if s.Contests["k"].Index != 5 || s.Constitutions["c@1"][0] != "H-1" {
		t.Fatal("clone shares maps with the original")
	}
	if err := SaveState(dir, s); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir, "o", "o+1+k")
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("loaded %+v, %v; want %+v", got, err, s)
	}
	if _, err := LoadState(dir, "o", "o+2+k"); err == nil {
		t.Fatal("a state for another key loaded")
	}
}
