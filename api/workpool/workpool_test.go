package workpool

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestEveryFunctionRunsOnce: every function given runs exactly once and
// Wait returns only after all of them, from many submitters at once, and
// the goroutines are reused (far fewer than the functions).
func TestEveryFunctionRunsOnce(t *testing.T) {
	const submitters, each = 16, 500
	var ran [submitters * each]atomic.Int32
	before := runtime.NumGoroutine()
	var outer sync.WaitGroup
	for s := range submitters {
		outer.Go(func() {
			for round := range 5 {
				var wg sync.WaitGroup
				for i := range each / 5 {
					k := s*each + round*(each/5) + i
					Go(&wg, func() { ran[k].Add(1) })
				}
				wg.Wait()
			}
		})
	}
	outer.Wait()
	for k := range ran {
		if n := ran[k].Load(); n != 1 {
			t.Fatalf("function %d ran %d times, want 1", k, n)
		}
	}
	if n := runtime.NumGoroutine() - before; n >= submitters*each/2 {
		t.Errorf("%d goroutines left for %d functions: the pool does not reuse them", n, submitters*each)
	}
}
