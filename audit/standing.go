package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrForbidden: the caller may not log this record (a producer naming an
// operator it does not speak for). The API answers 403.
var ErrForbidden = errors.New("forbidden")

type operatorsKey struct{}

// WithOperators returns ctx carrying the system.operator values the
// producer behind the request may log for. A context without them puts no
// restriction on the operator (tools and tests that append directly); the
// API sets them for every producer token that lists any.
func WithOperators(ctx context.Context, operators []string) context.Context {
	return context.WithValue(ctx, operatorsKey{}, operators)
}

// checkOperator refuses a decision whose system.operator the producer of
// ctx may not log for.
func checkOperator(ctx context.Context, operator string) error {
	ops, ok := ctx.Value(operatorsKey{}).([]string)
	if !ok || slices.Contains(ops, operator) {
		return nil
	}
	return fmt.Errorf("%w: this producer token logs for system.operator %s, not %q", ErrForbidden, strings.Join(ops, ", "), operator)
}

// tokenClaims keeps a producer-supplied contest.token_sha256 from being used
// by two decisions: one already logged is found through its index key, and
// one in flight (not yet committed) through this set, so two concurrent
// appends cannot both take it.
type tokenClaims struct {
	mu       sync.Mutex
	inflight map[string]string // token hash -> decision id
}

// claim reserves hash for decision id; the returned release undoes it
// once the append ended (a committed decision's index key holds the hash
// from then on). logged returns the decision already logged with hash (""
// if none); it runs after the reservation and outside the lock, so of two
// concurrent claims one sees the other in flight or, once the other's
// commit is done, logged.
func (c *tokenClaims) claim(hash, id string, logged func() (string, error)) (release func(), err error) {
	c.mu.Lock()
	if other, ok := c.inflight[hash]; ok && other != id {
		c.mu.Unlock()
		return nil, &ValidationError{Field: "contest.token_sha256", Message: "is used by another decision being logged; a contest token stands for one decision"}
	}
	if c.inflight == nil {
		c.inflight = map[string]string{}
	}
	c.inflight[hash] = id
	c.mu.Unlock()
	release = func() {
		c.mu.Lock()
		if c.inflight[hash] == id {
			delete(c.inflight, hash)
		}
		c.mu.Unlock()
	}
	other, err := logged()
	if err == nil && other != "" && other != id {
		err = &ValidationError{Field: "contest.token_sha256", Message: "is already used by another logged decision; a contest token stands for one decision"}
	}
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}
