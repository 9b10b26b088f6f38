package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// SplitRequests splits the input into requests: a JSON array, or a stream of
// JSON values (one document, or JSON lines). Nothing is sent when any of it
// is not JSON.
func SplitRequests(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("no records in the input")
	}
	lineAt := func(off int64) int {
		return 1 + bytes.Count(data[:len(data)-len(trimmed)+int(min(off, int64(len(trimmed))))], []byte("\n"))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := dec.Decode(&arr); err != nil {
			return nil, fmt.Errorf("not a JSON array of requests: %w (line %d)", err, lineAt(dec.InputOffset()))
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("data after the JSON array (line %d)", lineAt(dec.InputOffset()))
		}
		if len(arr) == 0 {
			return nil, errors.New("no records in the input")
		}
		return arr, nil
	}
	var out []json.RawMessage
	for {
		var m json.RawMessage
		err := dec.Decode(&m)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			off := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			}
			return nil, fmt.Errorf("record %d is not JSON: %w (line %d)", len(out)+1, err, lineAt(off))
		}
		out = append(out, m)
	}
}
