package badgerstore

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// levelFigures gathers the store's metrics: name -> level -> value.
func levelFigures(t *testing.T, st *Store) map[string]map[int]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(st.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int]float64{}
	for _, mf := range mfs {
		out[mf.GetName()] = map[int]float64{}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) == 0 { // a figure of the whole tree: under level -1
				out[mf.GetName()][-1] = m.GetGauge().GetValue()
				continue
			}
			l, err := strconv.Atoi(m.GetLabel()[0].GetValue())
			if err != nil {
				t.Fatalf("%s: level label %q", mf.GetName(), m.GetLabel()[0].GetValue())
			}
			out[mf.GetName()][l] = m.GetGauge().GetValue()
		}
	}
	return out
}

// The collector reports Badger's tables level by level as Badger lists
// them, and nothing once the store is closed.
func TestCollector(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(Config{Dir: dir, MemTableSize: 1 << 20, MappedBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	empty := levelFigures(t, st)
	if len(empty["fja_badger_tables"]) != st.db.Opts().MaxLevels {
		t.Fatalf("a new store: %v, want one figure for each of its %d levels", empty["fja_badger_tables"], st.db.Opts().MaxLevels)
	}
	for l, n := range empty["fja_badger_tables"] {
		if n != 0 || empty["fja_badger_level_bytes"][l] != 0 {
			t.Fatalf("a new store: level %d has %v tables and %v bytes, want none", l, n, empty["fja_badger_level_bytes"][l])
		}
	}
	fillStore(t, st.db, 20000, 40)
	if err := st.Close(); err != nil { // flushes the memtables into tables
		t.Fatal(err)
	}
	if got := levelFigures(t, st); len(got) != 0 {
		t.Fatalf("a closed store: %v, want no metrics", got)
	}
	st, err = Open(Config{Dir: dir, MemTableSize: 1 << 20, MappedBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := levelFigures(t, st)
	tables, bytes := map[int]float64{}, map[int]float64{}
	for _, ti := range st.db.Tables() {
		tables[ti.Level]++
		bytes[ti.Level] += float64(ti.OnDiskSize)
	}
	if len(tables) == 0 {
		t.Fatal("no table after 20,000 keys in 1 MiB memtables")
	}
	for l := range st.db.Opts().MaxLevels {
		if got["fja_badger_tables"][l] != tables[l] {
			t.Errorf("level %d: %v tables reported, Badger lists %v", l, got["fja_badger_tables"][l], tables[l])
		}
		if tables[l] > 0 && got["fja_badger_level_bytes"][l] <= 0 {
			t.Errorf("level %d: %v tables (%v bytes on disk) but %v bytes reported", l, tables[l], bytes[l], got["fja_badger_level_bytes"][l])
		}
	}
	o := st.db.Opts()
	if got["fja_badger_level0_merge_tables"][-1] != float64(o.NumLevelZeroTables) || got["fja_badger_level0_stall_tables"][-1] != float64(o.NumLevelZeroTablesStall) {
		t.Errorf("level 0 merges at %v and stalls at %v tables, Badger's options say %d and %d",
			got["fja_badger_level0_merge_tables"][-1], got["fja_badger_level0_stall_tables"][-1], o.NumLevelZeroTables, o.NumLevelZeroTablesStall)
	}
	var base float64
	for l := 1; l < o.MaxLevels; l++ {
		base = max(base, got["fja_badger_level_target_bytes"][l])
	}
	if base < float64(o.BaseLevelSize) {
		t.Errorf("level targets %v: want one of at least the base level's %d bytes", got["fja_badger_level_target_bytes"], o.BaseLevelSize)
	}
}
