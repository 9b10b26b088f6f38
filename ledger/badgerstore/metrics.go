package badgerstore

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Badger's LSM tree by level, as GET /metrics serves it. A memtable flush
// adds a table to level 0 and merges move tables down, so these say
// whether the merges keep up with the appends: level 0 merges once it
// holds fja_badger_level0_merge_tables tables and Badger stalls every
// write while it holds fja_badger_level0_stall_tables; a deeper level
// merges once its bytes pass its target (issue 10: at 10M entries the
// merges took 30% of the server's CPU).
var (
	descTables = prometheus.NewDesc("fja_badger_tables",
		"Tables in Badger's LSM tree, by level (level 0 holds flushed memtables).", []string{"level"}, nil)
	descLevelBytes = prometheus.NewDesc("fja_badger_level_bytes",
		"Bytes of the tables in Badger's LSM tree, by level.", []string{"level"}, nil)
	descLevelTarget = prometheus.NewDesc("fja_badger_level_target_bytes",
		"Bytes past which Badger merges a level into the next (0 for level 0, which merges by its number of tables; level 0 merges into the deepest level whose target is at most Badger's base level size).",
		[]string{"level"}, nil)
	descL0Merge = prometheus.NewDesc("fja_badger_level0_merge_tables",
		"Tables in level 0 at which Badger merges it into the base level.", nil, nil)
	descL0Stall = prometheus.NewDesc("fja_badger_level0_stall_tables",
		"Tables in level 0 at which Badger stalls every write until a merge has made room.", nil, nil)
)

// Collector returns the store's metrics, read from Badger when scraped.
// After Close it collects nothing.
func (s *Store) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Store }

// Describe implements prometheus.Collector.
func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTables, descLevelBytes, descLevelTarget, descL0Merge, descL0Stall} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	sn, err := c.s.enter() // the database stays open until leave
	if err != nil {
		return
	}
	defer c.s.leave(sn)
	for _, l := range c.s.db.Levels() {
		level := strconv.Itoa(l.Level)
		ch <- prometheus.MustNewConstMetric(descTables, prometheus.GaugeValue, float64(l.NumTables), level)
		ch <- prometheus.MustNewConstMetric(descLevelBytes, prometheus.GaugeValue, float64(l.Size), level)
		ch <- prometheus.MustNewConstMetric(descLevelTarget, prometheus.GaugeValue, float64(l.TargetSize), level)
	}
	o := c.s.db.Opts()
	ch <- prometheus.MustNewConstMetric(descL0Merge, prometheus.GaugeValue, float64(o.NumLevelZeroTables))
	ch <- prometheus.MustNewConstMetric(descL0Stall, prometheus.GaugeValue, float64(o.NumLevelZeroTablesStall))
}
