package monitor

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateVersion is the version of the state file format.
const StateVersion = 1

// StateFile is the name of the state file inside the state directory.
const StateFile = "state.json"

// State is what a monitor remembers between rounds. It is saved as JSON
// (StateFile in the state directory), replaced atomically after each step.
//
// Invariants: Checkpoint, when set, is a signed note that opens with Key
// for Origin; Checked <= its size; the rule state (LastLoggedAt,
// Constitutions, Contests) is exactly the result of entries [0, Checked).
type State struct {
	Version int    `json:"version"`
	Origin  string `json:"origin"`
	Key     string `json:"key"`
	// Checkpoint is the last checkpoint the monitor trusted, verbatim: it
	// opened with the key, was consistent with the one trusted before it
	// and with every gossiped checkpoint, and its root was re-derived from
	// the tiles. Empty before the first round.
	Checkpoint string `json:"checkpoint,omitempty"`
	// Checked is how far entries were read: [0, Checked) satisfy the
	// ledger's rules.
	Checked uint64 `json:"checked"`
	// LastLoggedAt is the logged_at of entry Checked-1.
	LastLoggedAt string `json:"last_logged_at,omitempty"`
	// Constitutions maps "id@version" of every published constitution to
	// its rule ids.
	Constitutions map[string][]string `json:"constitutions"`
	// Contests holds every contest logged, by contest id.
	Contests map[string]*ContestState `json:"contests"`
	// Governance locates constitutions, challenges and amendments
	// (governance.go); nil until the first is seen.
	Governance *GovernanceState `json:"governance,omitempty"`
	// Totals over the monitor's life.
	EntriesChecked uint64    `json:"entries_checked"`
	Rounds         uint64    `json:"rounds"`
	LastSuccess    time.Time `json:"last_success,omitzero"`
}

// ContestState is what the monitor keeps of one contest.
type ContestState struct {
	Index      uint64  `json:"index"`
	DecisionID string  `json:"decision_id"`
	DueBy      string  `json:"due_by"`
	Resolution *uint64 `json:"resolution,omitempty"` // index of its resolution
	// ResolvedIn is the origin of the later shard Resolution is an index
	// of, for a contest resolved after a rotation (empty: this shard).
	ResolvedIn string `json:"resolved_in,omitempty"`
}

// NewState is the state of a monitor that has seen nothing of the log.
func NewState(origin, key string) *State {
	return &State{Version: StateVersion, Origin: origin, Key: key,
		Constitutions: map[string][]string{}, Contests: map[string]*ContestState{}}
}

func (s *State) clone() *State {
	c := *s
	c.Constitutions = make(map[string][]string, len(s.Constitutions))
	for k, v := range s.Constitutions {
		c.Constitutions[k] = append([]string(nil), v...)
	}
	c.Contests = make(map[string]*ContestState, len(s.Contests))
	for k, v := range s.Contests {
		cc := *v
		if v.Resolution != nil {
			r := *v.Resolution
			cc.Resolution = &r
		}
		c.Contests[k] = &cc
	}
	c.Governance = s.Governance.clone()
	return &c
}

// LoadState reads dir/state.json. A missing file gives NewState(origin,
// key). It fails if the file is for another origin or key: one state
// directory follows one log.
func LoadState(dir, origin, key string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(origin, key), nil
	}
	if err != nil {
		return nil, err
	}
	s := NewState(origin, key)
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("state %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.Version != StateVersion {
		return nil, fmt.Errorf("state %s has version %d, want %d", filepath.Join(dir, StateFile), s.Version, StateVersion)
	}
	if s.Origin != origin || s.Key != key {
		return nil, fmt.Errorf("state %s follows the log %q with key %q, not %q with key %q: use another state directory",
			filepath.Join(dir, StateFile), s.Origin, s.Key, origin, key)
	}
	if s.Constitutions == nil {
		s.Constitutions = map[string][]string{}
	}
	if s.Contests == nil {
		s.Contests = map[string]*ContestState{}
	}
	return s, nil
}

// SaveState writes s to dir/state.json atomically: a temporary file in dir,
// synced, then renamed over the old one, and the directory synced.
func SaveState(dir string, s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, StateFile), append(b, '\n'), 0o600)
}

// WriteFileAtomic replaces name with data so that a crash leaves either the
// old or the new content (see WriteFileWith).
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	return WriteFileWith(name, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileWith writes a file atomically and durably: write fills a
// temporary file in the same directory, which is flushed, given mode
// perm and fsynced, then renamed over name, and the directory is fsynced
// so that the rename survives a crash. A failed write leaves no partial
// file behind and the previous file, if any, untouched.
func WriteFileWith(name string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+"-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<16)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
