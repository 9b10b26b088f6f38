// Package workpool runs the short functions of a request (one record of a
// batch each) on goroutines that outlive them. A fresh goroutine starts
// with a small stack and grows it, copying, every time the record path goes
// deep (decoding and checking a decision does); a pooled one has grown it
// once. Idle goroutines leave after a while, so the pool is as large as
// the load needs and no larger.
package workpool

import (
	"sync"
	"time"
)

// idle is how long a goroutine waits for more work before it leaves.
const idle = 10 * time.Second

type job struct {
	fn func()
	wg *sync.WaitGroup
}

var jobs = make(chan job)

// Go runs fn on a pooled goroutine (an idle one, or a new one if none is
// idle) and calls wg.Done when it returns; like wg.Go, but the goroutine
// stays for the next function.
func Go(wg *sync.WaitGroup, fn func()) {
	wg.Add(1)
	j := job{fn, wg}
	select {
	case jobs <- j:
	default:
		go work(j)
	}
}

func work(j job) {
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		j.fn()
		j.wg.Done()
		t.Reset(idle)
		select {
		case j = <-jobs:
		case <-t.C:
			return
		}
	}
}
