package healthcheck

import (
	"context"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
)

// DB probes the PostgreSQL server of dsn (a postgres:// URL or key=value
// text, whatever lib/pq accepts; PG* variables fill in what it leaves out):
// healthy when it connects and SELECT 1 answers 1, all of it within timeout
// (or before ctx ends). The deadline is hard: see the package doc. sslmode
// defaults to prefer. The result's Reason and Err never hold a password; Err
// is a *[pgconn.ConfigError] for a URL lib/pq rejects, [pgconn.ErrPQGODebug], or else
// wraps lib/pq's or the network's error (see [pgconn.Transient]).
func DB(ctx context.Context, dsn string, timeout time.Duration) Result {
	deadline := deadlineFor(ctx, timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	target, err := pgconn.SelectOne(ctx, dsn, deadline)
	if target != "" {
		target = " " + target
	}
	if err != nil {
		return unhealthy(err, "postgres%s: %s", target, describe(err, timeout))
	}
	return healthy("postgres%s: SELECT 1 ok", target)
}
