package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/fjaledger/fja/audit"
)

// TestReadError: the errors of Query and Stats map to what the client
// must do: fix a named parameter (400), narrow the group_by (422), or
// narrow the request once it ran past the server's deadline (503).
func TestReadError(t *testing.T) {
	for _, c := range []struct {
		err         error
		status      int
		code, field string
		passThrough bool
	}{
		{err: &audit.ValidationError{Field: "limit", Message: "is 0, want 1..1000"}, status: 400, code: "bad_request", field: "limit"},
		{err: fmt.Errorf("wrapped: %w", audit.ErrTooManyGroups), status: 422, code: "too_many_groups", field: "group_by"},
		{err: fmt.Errorf("badgerstore: %w", context.DeadlineExceeded), status: http.StatusServiceUnavailable, code: "query_timeout"},
		{err: context.Canceled, status: http.StatusServiceUnavailable, code: "canceled"},
		{err: fmt.Errorf("disk on fire"), passThrough: true},
	} {
		got := readError(c.err)
		e, ok := got.(*Error)
		if c.passThrough {
			if ok || got != c.err {
				t.Errorf("%v: mapped to %v, want it passed through", c.err, got)
			}
			continue
		}
		if !ok || e.Status != c.status || e.Code != c.code || e.Field != c.field {
			t.Errorf("%v: %#v, want %d %s %q", c.err, got, c.status, c.code, c.field)
		}
	}
}
