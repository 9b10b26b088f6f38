//go:build !linux

package badgerstore

import "errors"

// pageOut is Linux's only (madvise MADV_PAGEOUT).
func pageOut(addr, n uintptr) error {
	return errors.New("paging out Badger's mapped files is implemented on Linux only")
}
