// Package durable makes file contents and directory entries durable, for
// the ledger's own files (the log files and the journal), the vault's key file
// and the recovery tool's backups.
package durable

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Fdatasync makes f's data (and the metadata needed to read it, such as
// its size) durable, retrying when a signal interrupts it. The error names
// the file.
func Fdatasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
		}
		return nil
	}
}

// SyncDir makes the entries of the directory dir (files created, renamed
// or removed in it) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
