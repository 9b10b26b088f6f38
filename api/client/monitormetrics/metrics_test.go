package monitormetrics

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fjaledger/fja/verify/monitor"
)

// TestObserveAndServe counts rounds of every outcome and reads them back
// over HTTP, as Prometheus scrapes them.
func TestObserveAndServe(t *testing.T) {
	var none *Metrics
	none.Observe(&monitor.Result{Size: 3}, nil) // a nil *Metrics observes nothing

	m := New()
	m.Observe(&monitor.Result{Size: 6, From: 0, To: 6}, nil)
	m.Observe(nil, errors.New("connection refused"))
	m.Observe(&monitor.Result{Size: 9, From: 6, To: 9, OverdueContests: 2, Alarms: []monitor.Alarm{
		{Kind: monitor.KindViolation}, {Kind: monitor.KindViolation}, {Kind: monitor.KindFork}, {Kind: monitor.KindRollback}, {Kind: "tile"},
	}}, nil)
	addr, closeFn, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	resp, err := http.Get("http://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	for _, want := range []string{
		"fja_monitor_rounds_total 3\n", "fja_monitor_round_errors_total 1\n", "fja_monitor_tree_size 9\n",
		"fja_monitor_entries_checked_total 9\n", "fja_monitor_overdue_contests 2\n", "fja_monitor_violations_total 2\n",
		"fja_monitor_forks_total 2\n", "fja_monitor_bad_tiles_total 1\n", "fja_monitor_last_success_timestamp_seconds ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q:\n%s", want, got)
		}
	}
	if _, _, err := m.Serve(addr.String()); err == nil {
		t.Errorf("Serve on an address in use: no error")
	}
}
