package client_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/client"
)

// A producer appends a decision and gets back a receipt verified against
// the log key it pinned; sending the same decision again returns the
// first receipt, contest token included.
func ExampleClient_AppendDecision() {
	ctx := context.Background()
	c, err := client.New(client.Config{
		URL:         server.URL,
		Token:       server.Tokens[auth.Producer],
		VerifierKey: server.VKey, // pinned: every receipt is checked against it
	})
	if err != nil {
		panic(err)
	}
	a, err := c.AppendDecision(ctx, decision("dec-example-1"))
	if err != nil {
		panic(err)
	}
	fmt.Println("verified against checkpoint of origin:", a.Checkpoint.Origin)
	fmt.Println("has contest token:", a.ContestToken() != "")

	again, err := c.AppendDecision(ctx, decision("dec-example-1"))
	if err != nil {
		panic(err)
	}
	fmt.Println("duplicate:", again.Duplicate, "same index:", again.Index() == a.Index())
	fmt.Println("same contest token:", again.ContestToken() == a.ContestToken())
	// Output:
	// verified against checkpoint of origin: api.test.example.org/log
	// has contest token: true
	// duplicate: true same index: true
	// same contest token: true
}

// A client without a pinned key must say so.
func ExampleNew() {
	_, err := client.New(client.Config{URL: server.URL})
	fmt.Println(err)
	// Output:
	// client: VerifierKey is required to verify receipts (from GET /v1/log or the operator); set InsecureSkipVerify to go without
}

// Many goroutines append one decision each; the Batcher sends them in
// POST /v1/decisions:batch calls and hands each its own verified receipt.
func ExampleBatcher() {
	ctx := context.Background()
	c, err := client.New(client.Config{URL: server.URL, Token: server.Tokens[auth.Producer], VerifierKey: server.VKey})
	if err != nil {
		panic(err)
	}
	b, err := c.NewBatcherFor(ctx, client.BatcherConfig{MaxRecords: 50})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	var mu sync.Mutex
	indices := map[uint64]bool{}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			a, err := b.Add(ctx, decision(fmt.Sprintf("dec-batched-%d", i)))
			if err != nil {
				panic(err)
			}
			mu.Lock()
			indices[a.Index()] = a.Checkpoint != nil
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Println("distinct indices:", len(indices))
	// Output:
	// distinct indices: 20
}

// An auditor reads an entry; its inclusion proof is checked against a
// checkpoint signed by the pinned key.
func ExampleClient_Entry() {
	c, err := client.New(client.Config{URL: server.URL, VerifierKey: server.VKey})
	if err != nil {
		panic(err)
	}
	e, cp, err := c.Entry(context.Background(), 0)
	if err != nil {
		panic(err)
	}
	fmt.Println("entry", e.Index, "proven in a tree of size >= 1:", cp.Size >= 1)
	// Output:
	// entry 0 proven in a tree of size >= 1: true
}
