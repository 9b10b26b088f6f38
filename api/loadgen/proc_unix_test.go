//go:build unix

package loadgen

import (
	"os"
	"syscall"
	"testing"
)

// ProcessMinorFaults counts the pages a process touches for the first
// time: 64 MiB of a fresh anonymous mapping (never memory the Go heap had
// already faulted in) take at least one fault per 2 MiB, even if the
// kernel backs them with huge pages.
func TestProcessMinorFaults(t *testing.T) {
	const size = 64 << 20
	m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	before, err := ProcessMinorFaults(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < size; i += 4096 {
		m[i] = 1
	}
	after, err := ProcessMinorFaults(os.Getpid())
	if err != nil || after-before < size/(2<<20) {
		t.Fatalf("ProcessMinorFaults after touching %d MiB of a new mapping: %d more (%v), want at least %d", size>>20, after-before, err, size/(2<<20))
	}
	if _, err := ProcessMinorFaults(1 << 30); err == nil {
		t.Fatal("ProcessMinorFaults of a process that does not exist: no error")
	}
}
