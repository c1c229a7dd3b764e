package healthcheck

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

var errSSLNotSupported = pq.ErrSSLNotSupported

// DB probes the PostgreSQL server of dsn (a postgres:// URL or key=value
// text, whatever lib/pq accepts; PG* variables fill in what it leaves out):
// healthy when it connects and SELECT 1 answers 1, all of it within timeout
// (or before ctx ends). The deadline is hard: see the package doc. sslmode
// defaults to prefer. The result's Reason and Err never hold a password; Err
// is a *[ConfigError] for a URL lib/pq rejects, [ErrPQGODebug], or else
// wraps lib/pq's or the network's error (see [Transient]).
func DB(ctx context.Context, dsn string, timeout time.Duration) Result {
	deadline := deadlineFor(ctx, timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	target, err := selectOne(ctx, dsn, deadline)
	if target != "" {
		target = " " + target
	}
	if err != nil {
		return unhealthy(err, "postgres%s: %s", target, describe(err, timeout))
	}
	return healthy("postgres%s: SELECT 1 ok", target)
}

// selectOne connects with dsn and runs SELECT 1 under deadline. target
// describes the server for the reason ("" when dsn does not parse); the
// error is scrubbed of passwords.
func selectOne(ctx context.Context, dsn string, deadline time.Time) (target string, err error) {
	if os.Getenv("PQGO_DEBUG") == "1" {
		return "", ErrPQGODebug
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return "", configError(dsn, err)
	}
	known := secrets(dsn, cfg.Password, os.Getenv("PGPASSWORD"))
	target = scrub(describeTarget(cfg), known)
	if cfg.SSLMode == "" { // not named in dsn nor PGSSLMODE: lib/pq would use require
		cfg.SSLMode = pq.SSLModePrefer
	}
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return target, &ConfigError{msg: "database URL: " + scrub(trimPQ(err.Error()), known)}
	}
	dialer := newClampDialer(deadline)
	defer dialer.closeAll()
	stop := context.AfterFunc(ctx, dialer.closeAll)
	defer stop()
	connector.Dialer(dialer)
	if err := queryOne(ctx, connector); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// The deadline or a cancel closed the sockets under lib/pq:
			// its error says less than the context's.
			return target, &scrubbedError{msg: scrub(ctxErr.Error()+": "+trimPQ(err.Error()), known), err: ctxErr}
		}
		return target, &scrubbedError{msg: scrub(trimPQ(err.Error()), known), err: err}
	}
	return target, nil
}

// queryOne opens one connection and runs SELECT 1 on it. The query gets no
// context: lib/pq would start a goroutine to send a cancel request on a new
// connection when it ends; the clamped sockets bound it instead, and a cancel
// of ctx closes them.
func queryOne(ctx context.Context, connector *pq.Connector) error {
	conn, err := connector.Connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	queryer, ok := conn.(driver.QueryerContext)
	if !ok {
		return fmt.Errorf("lib/pq connection %T cannot run queries", conn)
	}
	rows, err := queryer.QueryContext(context.Background(), "SELECT 1", nil)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return fmt.Errorf("SELECT 1: %w", err)
	}
	if v, ok := dest[0].(int64); !ok || v != 1 {
		return fmt.Errorf("SELECT 1 returned %v", dest[0])
	}
	return nil
}

// describeTarget names the server(s) cfg points to: host:port or the unix
// socket path, then /dbname.
func describeTarget(cfg pq.Config) string {
	hosts := []string{hostPort(cfg.Host, cfg.Hostaddr.String(), cfg.Hostaddr.IsValid(), cfg.Port)}
	for _, m := range cfg.Multi {
		hosts = append(hosts, hostPort(m.Host, m.Hostaddr.String(), m.Hostaddr.IsValid(), m.Port))
	}
	target := strings.Join(hosts, ",")
	if cfg.Database != "" {
		target += "/" + cfg.Database
	}
	return target
}

func hostPort(host, hostaddr string, hasAddr bool, port uint16) string {
	p := strconv.Itoa(int(port))
	switch {
	case hasAddr:
		host = hostaddr
	case filepath.IsAbs(host) || strings.HasPrefix(host, "@"):
		return filepath.Join(host, ".s.PGSQL."+p)
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + p
	}
	return host + ":" + p
}

// configError is lib/pq's complaint about dsn, without any password and
// without lib/pq's or net/url's echo of dsn.
func configError(dsn string, err error) error {
	if !isLibpqURL(dsn) {
		if _, ok := scanKeyValue(dsn); !ok {
			return &ConfigError{msg: "database URL: neither a postgres:// URL nor key=value text " +
				"(quote values with spaces: password='a b')"}
		}
	}
	msg := err.Error()
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		msg = urlErr.Err.Error()
	}
	return &ConfigError{msg: "database URL: " + scrub(trimPQ(msg), secrets(dsn, os.Getenv("PGPASSWORD")))}
}

func trimPQ(msg string) string { return strings.TrimPrefix(msg, "pq: ") }
