package main

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// writeFileWith writes a file (mode 0644) through a temporary file in the
// same directory, renamed over name only once write succeeded: a failed
// or interrupted command leaves no partial file behind.
func writeFileWith(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<16)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// writeFile writes b to name as writeFileWith does.
func writeFile(name string, b []byte) error {
	return writeFileWith(name, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
