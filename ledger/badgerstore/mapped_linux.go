package badgerstore

import (
	"errors"

	"golang.org/x/sys/unix"
)

// pageOut asks the kernel to page out [addr, addr+n) (madvise
// MADV_PAGEOUT, Linux 5.4 on). A range no longer mapped is not an error:
// the file was closed since smaps was read.
func pageOut(addr, n uintptr) error {
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, addr, n, unix.MADV_PAGEOUT)
	switch {
	case errno == 0, errors.Is(errno, unix.ENOMEM), errors.Is(errno, unix.EAGAIN):
		return nil
	case errors.Is(errno, unix.EINVAL):
		return errors.New("madvise(MADV_PAGEOUT) is not supported by this kernel (Linux 5.4 or later needed)")
	}
	return errno
}
