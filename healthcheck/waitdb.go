package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
)

// Backoff between the attempts of [WaitReady]: doubling from the first to
// the cap. Each attempt gets at most waitAttemptTimeout.
const (
	waitFirstBackoff   = 100 * time.Millisecond
	waitMaxBackoff     = 2 * time.Second
	waitAttemptTimeout = 5 * time.Second
)

// WaitError is why [WaitReady] gave up.
type WaitError struct {
	// Timeout is true when the time ran out while every error was
	// transient (the database may still come up later); false when an
	// error was fatal (authentication, missing database, TLS mismatch, bad
	// URL) or the caller cancelled.
	Timeout bool
	// Attempts is how many times it tried; Elapsed how long it waited.
	Attempts int
	Elapsed  time.Duration
	// Err is the last attempt's error, scrubbed of passwords.
	Err error
}

func (e *WaitError) Error() string {
	what := "failed"
	if e.Timeout {
		what = "not ready"
	}
	return fmt.Sprintf("database %s after %d attempts in %s: %s", what, e.Attempts,
		e.Elapsed.Round(time.Millisecond), oneLine(e.Err.Error()))
}

func (e *WaitError) Unwrap() error { return e.Err }

// WaitReady waits until the database of dsn accepts a connection and
// answers SELECT 1, for at most max (or until ctx ends). It retries while
// the errors are [pgconn.Transient] (refused, unreachable, DNS, timeouts, 57P03
// starting up, 53300 too many connections, ...) with a backoff from 100ms
// doubling to 2s, and gives up at once on any other error. Each attempt is
// a [DB] probe: the same hard deadline, sslmode=prefer default and password
// scrubbing. logf, when not nil, gets one line per failed attempt that will
// be retried. The error is a *[WaitError].
func WaitReady(ctx context.Context, dsn string, max time.Duration, logf func(format string, args ...any)) error {
	start := time.Now()
	deadline := deadlineFor(ctx, max)
	backoff := waitFirstBackoff
	for attempt := 1; ; attempt++ {
		target, budget, err := attemptOnce(ctx, dsn, deadline)
		if err == nil {
			return nil
		}
		giveUp := func(timeout bool) error {
			return &WaitError{Timeout: timeout, Attempts: attempt, Elapsed: time.Since(start), Err: err}
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return giveUp(false)
		}
		if !pgconn.Transient(err) {
			return giveUp(false)
		}
		pause := min(backoff, time.Until(deadline))
		if pause <= 0 {
			return giveUp(true)
		}
		if logf != nil {
			logf("database%s not ready (attempt %d): %s; retrying in %s", target, attempt,
				describe(err, budget.Round(time.Millisecond)), pause.Round(time.Millisecond))
		}
		if err := sleepCtx(ctx, pause); err != nil && errors.Is(err, context.Canceled) {
			return giveUp(false)
		}
		backoff = min(2*backoff, waitMaxBackoff)
	}
}

// attemptOnce is one connect and SELECT 1 under the earlier of deadline
// and waitAttemptTimeout from now, which budget is. target is
// " host:port/db", or "".
func attemptOnce(ctx context.Context, dsn string, deadline time.Time) (target string, budget time.Duration, err error) {
	budget = min(time.Until(deadline), waitAttemptTimeout)
	d := time.Now().Add(budget)
	actx, cancel := context.WithDeadline(ctx, d)
	defer cancel()
	target, err = pgconn.SelectOne(actx, dsn, d)
	if target != "" {
		target = " " + target
	}
	return target, budget, err
}

// sleepCtx waits for d, or until ctx ends (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
