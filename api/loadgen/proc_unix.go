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
	f, err := statFields(pid, 14, 15) // utime, stime
	if err != nil {
		return 0, err
	}
	return time.Duration(f[0]+f[1]) * clockTick, nil
}

// ProcessMinorFaults is the number of minor page faults process pid has
// taken so far (minflt, field 10 of /proc/<pid>/stat, Linux): pages it
// touched for the first time, such as the memory a growing Go heap takes
// from the system.
func ProcessMinorFaults(pid int) (int64, error) {
	f, err := statFields(pid, 10)
	if err != nil {
		return 0, err
	}
	return f[0], nil
}

// statFields reads numeric fields of /proc/<pid>/stat by number (proc(5)
// counts them from 1, the pid).
func statFields(pid int, fields ...int) ([]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	f, err := parseStat(b, fields...)
	if err != nil {
		return nil, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return f, nil
}

// parseStat reads numeric fields of a /proc/<pid>/stat text by number.
func parseStat(b []byte, fields ...int) ([]int64, error) {
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted from the last ')', after which comes field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("want \"<pid> (<comm>) <state> ...\", got %q", clip(b, 100))
	}
	f := bytes.Fields(b[i+1:])
	out := make([]int64, len(fields))
	for j, n := range fields {
		if n < 3 || n-3 >= len(f) {
			return nil, fmt.Errorf("want field %d, got %d fields", n, len(f)+2)
		}
		v, err := strconv.ParseInt(string(f[n-3]), 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("field %d is %q, want a count", n, f[n-3])
		}
		out[j] = v
	}
	return out, nil
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
