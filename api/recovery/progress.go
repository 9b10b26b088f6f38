package recovery

import (
	"fmt"
	"io"
	"time"
)

// ProgressLines returns a Config.Progress that writes to w one line per
// stage and at most one a second in between, with the entries done, the
// total and the rate: "restore: 65536/1000000 entries (41230/s)".
func ProgressLines(w io.Writer) func(stage string, done, total uint64) {
	var stage string
	var start, last time.Time
	return func(s string, done, total uint64) {
		now := time.Now()
		if s != stage {
			stage, start = s, now
		} else if done < total && now.Sub(last) < time.Second {
			return
		}
		last = now
		rate := float64(done) / max(now.Sub(start).Seconds(), 1e-3)
		fmt.Fprintf(w, "%s: %d/%d entries (%.0f/s)\n", s, done, total, rate)
	}
}

// String says what was restored, for a person.
func (r *Result) String() string {
	return fmt.Sprintf("restored %d entries of %s; fsck ok; %d records of unknown kinds (no dedup key)", r.Size, r.Origin, r.UnknownKinds)
}

// String says what a backup holds, for a person.
func (m *Manifest) String() string {
	return fmt.Sprintf("the private part of %s at size %d, taken %s (%d index keys, %d files)", m.Origin, m.Size, m.TakenAt.Format(time.RFC3339), m.IndexKeys, len(m.Files))
}
