package pgconn

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/lib/pq"

	"github.com/lastcall-dev/lastcall/internal/redact"
)

// MonitorAppName is the application_name of the monitor session: never a
// tag, so the monitor never counts itself (it also excludes its own
// backend).
const MonitorAppName = "lastcall-monitor"

// Monitor is one PostgreSQL session that looks at pg_stat_activity for the
// drain check, opened on demand. Everything it does, from the first dial to
// Close, is under the one hard deadline given to [OpenMonitor]: see the
// package doc. A Monitor is for one goroutine at a time.
type Monitor struct {
	// Query makes [Monitor.Sessions] fill in each session's query text.
	Query bool

	conn    driver.Conn
	dialer  *clampDialer
	known   []string // passwords to scrub from errors
	target  string
	direct  bool // SelfCheck passed: client ports can be matched
	version int  // server_version_num, once XactStatus asked
}

// OpenMonitor connects with dsn (sslmode=prefer unless dsn or PGSSLMODE
// names one; application_name is [MonitorAppName], whatever dsn or
// PGAPPNAME say). Every socket of the session ends by deadline at the latest;
// a cancel of ctx while it connects ends the connection attempt. Errors are
// scrubbed of passwords, as [DB]'s are.
func OpenMonitor(ctx context.Context, dsn string, deadline time.Time) (*Monitor, error) {
	if os.Getenv("PQGO_DEBUG") == "1" {
		return nil, ErrPQGODebug
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return nil, configError(dsn, err)
	}
	m := &Monitor{dialer: newClampDialer(deadline), known: redact.Secrets(dsn, cfg.Password, os.Getenv("PGPASSWORD"))}
	m.target = redact.Replace(describeTarget(cfg), m.known)
	if cfg.SSLMode == "" {
		cfg.SSLMode = pq.SSLModePrefer
	}
	cfg.ApplicationName = MonitorAppName
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, &ConfigError{msg: "database URL: " + redact.Replace(trimPQ(err.Error()), m.known)}
	}
	connector.Dialer(m.dialer)
	err = m.within(ctx, func() error {
		m.conn, err = connector.Connect(ctx)
		return err
	})
	if err != nil {
		m.dialer.closeAll()
		return nil, fmt.Errorf("monitor session to %s: %w", m.target, err)
	}
	m.dialer.closeStale()
	return m, nil
}

// Close ends the session.
func (m *Monitor) Close() error {
	err := m.conn.Close()
	m.dialer.closeAll()
	return err
}

// within runs f (one exchange with the server) so that it ends by ctx's
// deadline, or when ctx is cancelled (which closes the session's sockets),
// and by the monitor's hard deadline in any case. f's error comes back
// scrubbed; when ctx ended it, the context's error is what it wraps.
func (m *Monitor) within(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, m.dialer.closeAll)
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		m.dialer.setDeadline(d)
		defer m.dialer.setDeadline(time.Time{}) // back to the hard deadline
	}
	err := f()
	if err == nil {
		return nil
	}
	if ctxErr := ctxEnded(ctx); ctxErr != nil {
		return &scrubbedError{msg: redact.Replace(ctxErr.Error()+": "+trimPQ(err.Error()), m.known), err: ctxErr}
	}
	return &scrubbedError{msg: redact.Replace(trimPQ(err.Error()), m.known), err: err}
}

// ctxEnded is ctx's error, or DeadlineExceeded once its deadline has passed
// (a socket deadline set to it can fire before ctx's own timer does).
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// query runs one statement with args and returns its rows, all read.
func (m *Monitor) query(ctx context.Context, stmt string, ncol int, args ...any) ([][]driver.Value, error) {
	queryer, ok := m.conn.(driver.QueryerContext)
	if !ok {
		return nil, fmt.Errorf("lib/pq connection %T cannot run queries", m.conn)
	}
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	var out [][]driver.Value
	err := m.within(ctx, func() error {
		// No context for lib/pq: it would dial a cancel request when ctx
		// ends; within closes the sockets instead.
		rows, err := queryer.QueryContext(context.Background(), stmt, named)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for {
			row := make([]driver.Value, ncol)
			if err := rows.Next(row); err != nil {
				return ignoreEOF(err)
			}
			out = append(out, row)
		}
	})
	return out, err
}

// localAddr is the monitor socket's own address.
func (m *Monitor) localAddr() (local, remote net.Addr, ok bool) {
	m.dialer.mu.Lock()
	defer m.dialer.mu.Unlock()
	if len(m.dialer.conns) == 0 {
		return nil, nil, false
	}
	c := m.dialer.conns[len(m.dialer.conns)-1]
	return c.LocalAddr(), c.RemoteAddr(), true
}
