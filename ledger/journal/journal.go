// Package journal is an append-only file of records, each made durable
// with one fdatasync before Append returns: a write-ahead journal. A store
// appends what a commit writes to it first, writes the same to its own
// files without syncing them, and, once those are durable (a checkpoint),
// cuts the journal with Reset; after a crash it replays the records Open
// returns.
//
// A record on disk is its length (4 bytes, big-endian), the CRC-32C of its
// payload (4 bytes) and the payload. Open reads records until the first
// that is short or whose checksum fails — the tail an interrupted Append
// left, which was never acknowledged — and cuts the file there, so that
// the next Append follows the last whole record.
package journal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/fjaledger/fja/internal/durable"
)

// MaxRecord is the largest payload Append takes.
const MaxRecord = 1 << 30

const headerSize = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Journal is one journal file. Append, Reset and Close are called by one
// goroutine at a time.
type Journal struct {
	f    *os.File
	size int64 // bytes of whole records
}

// Open opens (or creates, durably) the journal at path and returns the
// payloads of its whole records, in order. A torn or corrupt tail is cut
// off (and the cut made durable); cut says how many bytes went.
func Open(path string) (j *Journal, records [][]byte, cut int64, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("journal: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	if err := syncDir(path); err != nil {
		return nil, nil, 0, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("journal: read %s: %w", path, err)
	}
	var off int64
	for {
		p, n := parse(data[off:])
		if n == 0 {
			break
		}
		records = append(records, p)
		off += n
	}
	if cut = int64(len(data)) - off; cut > 0 {
		if err := f.Truncate(off); err != nil {
			return nil, nil, 0, fmt.Errorf("journal: cut the torn tail of %s at %d bytes: %w", path, off, err)
		}
		if err := fdatasync(f); err != nil {
			return nil, nil, 0, err
		}
	}
	return &Journal{f: f, size: off}, records, cut, nil
}

// parse returns the first record of b and its length on disk, or n = 0 if
// b does not start with a whole record.
func parse(b []byte) (payload []byte, n int64) {
	if len(b) < headerSize {
		return nil, 0
	}
	l := binary.BigEndian.Uint32(b)
	if l > MaxRecord || uint64(len(b)-headerSize) < uint64(l) {
		return nil, 0
	}
	p := b[headerSize : headerSize+int(l)]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0
	}
	return p, headerSize + int64(l)
}

// Append writes the record and makes it durable. After an error the
// journal may end in a torn record: the caller must stop appending (Open
// cuts it).
func (j *Journal) Append(payload []byte) error {
	if len(payload) > MaxRecord {
		return fmt.Errorf("journal: record of %d bytes, want at most %d", len(payload), MaxRecord)
	}
	var h [headerSize]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(payload)))
	binary.BigEndian.PutUint32(h[4:], crc32.Checksum(payload, castagnoli))
	n := int64(headerSize + len(payload))
	if err := writeAt(j.f, h[:], payload, j.size); err != nil {
		return fmt.Errorf("journal: append %d bytes at %d to %s: %w", n, j.size, j.f.Name(), err)
	}
	if err := fdatasync(j.f); err != nil {
		return err
	}
	j.size += n
	return nil
}

// writeAt writes head and then body at off with one system call as a rule
// (pwritev: the payload is not copied behind its header), going on after a
// short write.
func writeAt(f *os.File, head, body []byte, off int64) error {
	iovs := [][]byte{head, body}
	for {
		for len(iovs) > 0 && len(iovs[0]) == 0 {
			iovs = iovs[1:] // written, or empty from the start (an empty payload)
		}
		if len(iovs) == 0 {
			return nil
		}
		n, err := unix.Pwritev(int(f.Fd()), iovs, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		off += int64(n)
		for i := 0; n > 0; i++ {
			k := min(n, len(iovs[i]))
			iovs[i], n = iovs[i][k:], n-k
		}
	}
}

// Size is the journal's length in bytes (of whole records).
func (j *Journal) Size() int64 { return j.size }

// Reset empties the journal, durably: call it once everything its records
// wrote is durable elsewhere.
func (j *Journal) Reset() error {
	if j.size == 0 {
		return nil
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("journal: reset: %w", err)
	}
	if err := fdatasync(j.f); err != nil {
		return err
	}
	j.size = 0
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

func fdatasync(f *os.File) error {
	if err := durable.Fdatasync(f); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// syncDir makes the directory entry of path durable.
func syncDir(path string) error {
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
