//go:build unix

package loadgen

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// selfCPU is the user plus system CPU time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// ProcessCPU is the user plus system CPU time of process pid so far, from
// /proc/<pid>/stat (Linux).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: want at least 15 fields, got %q", pid, clip(b, 100))
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q, stime %q: want integers", pid, f[11], f[12])
	}
	return time.Duration(u+s) * clockTick, nil
}

// RSS is the resident set size of process pid in bytes, from the VmRSS
// line of /proc/<pid>/status (Linux).
func RSS(pid int) (int64, error) { return procStatusBytes(pid, "VmRSS:") }

// ProcessWriteBytes is the number of bytes process pid has caused to be
// written to storage so far (write_bytes of /proc/<pid>/io, Linux): counted
// as pages are dirtied, by write(2) or through a shared mapping, whether
// or not they have reached the disk yet; files on tmpfs count nothing.
func ProcessWriteBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	n, err := ioField(b, "write_bytes")
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/io: %w", pid, err)
	}
	return n, nil
}

// ioField returns the value of the "<field>: <n>" line of a /proc/<pid>/io
// text.
func ioField(b []byte, field string) (int64, error) {
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("want \"%s: <n>\", got %q", field, bytes.TrimSpace(line))
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no %s line", field)
}

// procStatusBytes reads the "<field> <n> kB" line of /proc/<pid>/status.
func procStatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte(field)); ok {
			f := bytes.Fields(v)
			if len(f) == 2 && string(f[1]) == "kB" {
				if kb, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					return kb * 1024, nil
				}
			}
			return 0, fmt.Errorf("/proc/%d/status: want \"%s <n> kB\", got %q", pid, field, bytes.TrimSpace(line))
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s line (a kernel thread or a zombie?)", pid, field)
}

// DiskUsage is what du reports for dir: the bytes of the blocks allocated
// to every file under it (sparse and preallocated files count what they
// occupy, not their length).
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // removed while we walk (compaction)
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total, err
}
