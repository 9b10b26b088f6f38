package badgerstore

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Badger maps every table and value log file it holds into memory and
// never unmaps one while it is open. A page it writes or reads stays in
// the server's resident set (VmRSS) until the kernel reclaims it under
// memory pressure, so the server's RSS grows with the index, by about 510
// bytes an entry (docs/scaling.md), though Badger reads little of it
// again: a table's data blocks when a lookup's Bloom filter says yes or a
// compaction merges it, a value when its key is read. The mapped pages are
// page cache, not the server's own memory, but an operator sees them as
// the server's, and a container's memory limit counts them.
//
// mappedTrimmer bounds them: every interval it sums the resident pages of
// the store's table and value log mappings (/proc/self/smaps) and, past
// the budget, hands pages back to the kernel with madvise(MADV_PAGEOUT),
// oldest files first (value log files, whose values are read only when
// their keys are, then tables in the order Badger made them, the oldest
// lying deepest in the tree), until half the budget is left. It never
// pages out a table's index and Bloom filter (the file's tail), which
// every lookup reads. MADV_PAGEOUT never changes what memory holds: a page
// of a clean file is dropped, a dirty one written back first, and a
// later read faults it in again from the file; on any other memory (a
// range unmapped and reused between reading smaps and the madvise) it
// only moves pages out, never loses them.
type mappedTrimmer struct {
	dir    string           // the store's directory, absolute, as smaps names it
	budget int64            // bytes
	tails  map[string]int64 // a table's index offset by path (indexStart)
}

// DefaultMappedBudget is Config.MappedBudget's default.
const DefaultMappedBudget = 256 << 20

// mappedTrimEvery is how often the trimmer looks.
const mappedTrimEvery = 5 * time.Second

// mapping is one of the store's file mappings in smaps.
type mapping struct {
	start, end uintptr
	path       string
	rss        int64 // bytes
}

// trimmable reports whether path is a file of the store in dir that
// Badger maps and the trimmer may page out: a table or a value log file
// (never a memtable's write-ahead log, which is written all the time).
func trimmable(dir, path string) bool {
	return filepath.Dir(path) == dir && (strings.HasSuffix(path, ".sst") || strings.HasSuffix(path, ".vlog"))
}

// parseSmaps returns the mappings of smaps (the format of
// /proc/<pid>/smaps) of files keep accepts, with their resident bytes.
func parseSmaps(r io.Reader, keep func(path string) bool) ([]mapping, error) {
	var out []mapping
	var cur *mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "Rss:"); ok {
			if cur != nil {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("smaps: Rss line %q: %w", line, err)
				}
				cur.rss = kb << 10
			}
			continue
		}
		// A mapping's header: "start-end perms offset dev inode [path]",
		// the path " (deleted)" once its file is; other lines are
		// "Key: value".
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasSuffix(f[0], ":") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		cur = nil
		path := afterFields(line, 5) // the rest of the line: it may hold spaces
		if path == "" || strings.HasSuffix(path, " (deleted)") || !keep(path) {
			continue // a deleted table is unmapped as soon as its last read ends
		}
		out = append(out, mapping{start: uintptr(start), end: uintptr(end), path: path})
		cur = &out[len(out)-1]
	}
	return out, sc.Err()
}

// afterFields returns what follows the first n space-separated fields of
// line, without its leading spaces.
func afterFields(line string, n int) string {
	for range n {
		line = strings.TrimLeft(line, " \t")
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return ""
		}
		line = line[i:]
	}
	return strings.TrimSpace(line)
}

// fileNumber is the number Badger gave a file ("000123.sst" is 123): the
// order it made them in.
func fileNumber(path string) uint64 {
	base := filepath.Base(path)
	n, _ := strconv.ParseUint(strings.TrimSuffix(base, filepath.Ext(base)), 10, 64)
	return n
}

// tableIndexStart returns where a Badger table's index begins: its footer
// is index | index length (4) | checksum | checksum length (4), the
// lengths big-endian (table.Builder; read back by Table.initIndex).
func tableIndexStart(f io.ReaderAt, size int64) (int64, error) {
	var b [4]byte
	if size < 8 {
		return 0, fmt.Errorf("table of %d bytes, want at least a footer of 8", size)
	}
	if _, err := f.ReadAt(b[:], size-4); err != nil {
		return 0, err
	}
	pos := size - 4 - int64(binary.BigEndian.Uint32(b[:])) - 4
	if pos < 0 {
		return 0, fmt.Errorf("table of %d bytes with a checksum of %d", size, binary.BigEndian.Uint32(b[:]))
	}
	if _, err := f.ReadAt(b[:], pos); err != nil {
		return 0, err
	}
	start := pos - int64(binary.BigEndian.Uint32(b[:]))
	if start < 0 {
		return 0, fmt.Errorf("table of %d bytes with an index of %d ending at %d", size, binary.BigEndian.Uint32(b[:]), pos)
	}
	return start, nil
}

// indexStart is tableIndexStart of the table at path, remembered (tables
// never change).
func (t *mappedTrimmer) indexStart(path string) (int64, error) {
	if n, ok := t.tails[path]; ok {
		return n, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	n, err := tableIndexStart(f, fi.Size())
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	t.tails[path] = n
	return n, nil
}

// plan picks, from the mappings of one look, the ranges to page out: none
// while their resident bytes are within the budget; past it, value log
// files then tables, oldest first, each table up to the page holding the
// start of its index, until what is left is at most half the budget.
// indexStart gives a table's index offset; a table whose footer cannot be
// read is left alone. It also returns the resident bytes of ms and an
// estimate of those in the ranges (a mapping's resident bytes taken as
// spread evenly over it).
func plan(ms []mapping, budget int64, indexStart func(path string) (int64, error)) (ranges [][2]uintptr, resident, freed int64) {
	for _, m := range ms {
		resident += m.rss
	}
	if resident <= budget {
		return nil, resident, 0
	}
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b mapping) int {
		av, bv := strings.HasSuffix(a.path, ".vlog"), strings.HasSuffix(b.path, ".vlog")
		if av != bv {
			if av {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(fileNumber(a.path), fileNumber(b.path)); c != 0 {
			return c
		}
		return cmp.Compare(a.start, b.start)
	})
	const page = 4096
	left := resident
	for _, m := range ms {
		if left <= budget/2 {
			break
		}
		if m.rss == 0 {
			continue
		}
		end := m.end
		if strings.HasSuffix(m.path, ".sst") {
			n, err := indexStart(m.path)
			if err != nil {
				continue
			}
			end = min(m.end, m.start+uintptr(n)&^(page-1))
		}
		if end <= m.start {
			continue
		}
		ranges = append(ranges, [2]uintptr{m.start, end})
		left -= m.rss * int64(end-m.start) / int64(m.end-m.start)
	}
	return ranges, resident, resident - left
}

// trim makes one look (see mappedTrimmer) and returns the resident bytes
// it found and an estimate of those it paged out.
func (t *mappedTrimmer) trim() (resident, paged int64, err error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, 0, err
	}
	ms, err := parseSmaps(bufio.NewReaderSize(f, 64<<10), func(p string) bool { return trimmable(t.dir, p) })
	f.Close()
	if err != nil {
		return 0, 0, err
	}
	live := map[string]bool{}
	for _, m := range ms {
		live[m.path] = true
	}
	for p := range t.tails {
		if !live[p] {
			delete(t.tails, p) // compacted away
		}
	}
	ranges, resident, freed := plan(ms, t.budget, t.indexStart)
	for _, r := range ranges {
		if err := pageOut(r[0], r[1]-r[0]); err != nil {
			return resident, 0, err
		}
	}
	return resident, freed, nil
}
