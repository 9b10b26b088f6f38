//go:build !unix

package loadgen

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"
)

var errNoProc = errors.New("loadgen: process figures need /proc (Linux)")

func selfCPU() time.Duration { return 0 }

// ProcessCPU is not available on this system.
func ProcessCPU(pid int) (time.Duration, error) { return 0, errNoProc }

// ProcessMinorFaults is not available on this system.
func ProcessMinorFaults(pid int) (int64, error) { return 0, errNoProc }

// ProcessWriteBytes is not available on this system.
func ProcessWriteBytes(pid int) (int64, error) { return 0, errNoProc }

// RSS is not available on this system.
func RSS(pid int) (int64, error) { return 0, errNoProc }

// DiskUsage is the total length of the files under dir.
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil {
			total += info.Size()
		}
		return nil
	})
	return total, err
}
