package pgconn

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

	"github.com/lastcall-dev/lastcall/internal/connstr"
	"github.com/lastcall-dev/lastcall/internal/redact"
)

var errSSLNotSupported = pq.ErrSSLNotSupported

// SelectOne connects with dsn and runs SELECT 1 under deadline. target
// describes the server for the reason ("" when dsn does not parse); the
// error is scrubbed of passwords.
func SelectOne(ctx context.Context, dsn string, deadline time.Time) (target string, err error) {
	if os.Getenv("PQGO_DEBUG") == "1" {
		return "", ErrPQGODebug
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return "", configError(dsn, err)
	}
	known := redact.Secrets(dsn, cfg.Password, os.Getenv("PGPASSWORD"))
	target = redact.Replace(describeTarget(cfg), known)
	if cfg.SSLMode == "" { // not named in dsn nor PGSSLMODE: lib/pq would use require
		cfg.SSLMode = pq.SSLModePrefer
	}
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return target, &ConfigError{msg: "database URL: " + redact.Replace(trimPQ(err.Error()), known)}
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
			return target, &scrubbedError{msg: redact.Replace(ctxErr.Error()+": "+trimPQ(err.Error()), known), err: ctxErr}
		}
		return target, &scrubbedError{msg: redact.Replace(trimPQ(err.Error()), known), err: err}
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
	if !connstr.IsURL(dsn) {
		if _, ok := connstr.KeyValuePasswords(dsn); !ok {
			return &ConfigError{msg: "database URL: neither a postgres:// URL nor key=value text " +
				"(quote values with spaces: password='a b')"}
		}
	}
	msg := err.Error()
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		msg = urlErr.Err.Error()
	}
	return &ConfigError{msg: "database URL: " + redact.Replace(trimPQ(msg), redact.Secrets(dsn, os.Getenv("PGPASSWORD")))}
}

func trimPQ(msg string) string { return strings.TrimPrefix(msg, "pq: ") }
