package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// OpenConn opens one connection with dsn and pings it, all within 10s.
// The caller closes db (which closes conn).
func OpenConn(dsn string) (*sql.DB, *sql.Conn, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err == nil {
		err = conn.PingContext(ctx)
	}
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// HoldSession opens one connection with dsn and keeps it until the test
// ends; it returns the connection for BEGIN and the like.
func HoldSession(t *testing.T, dsn string) *sql.Conn {
	t.Helper()
	db, conn, err := OpenConn(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(); _ = db.Close() })
	return conn
}

// WithAppName adds application_name to a DSN of either form.
func WithAppName(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") {
		return dsn + "&application_name=" + url.QueryEscape(name)
	}
	return dsn + " application_name=" + name
}

// Freeze stops pid (SIGSTOP) until the test ends.
func Freeze(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
}

// BackendPID is the pid of the one backend named appName.
func BackendPID(t *testing.T, c *Cluster, appName string) int {
	t.Helper()
	db, err := sql.Open("postgres", c.SocketDSN(Superuser, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var pid int
	// The newest such backend: one of an earlier case may still be on its
	// way out.
	err = db.QueryRow("SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY backend_start DESC LIMIT 1",
		appName).Scan(&pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// WaitSessions waits until the server shows exactly n sessions named
// appName (backends end a moment after their client closes), and fails t
// after 20s.
func WaitSessions(t *testing.T, c *Cluster, appName string, n int) {
	t.Helper()
	db, err := sql.Open("postgres", c.SocketDSN(Superuser, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	got := -1
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		err := db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", appName).Scan(&got)
		if err == nil && got == n {
			return
		}
	}
	t.Fatalf("the server shows %d sessions named %q, want %d", got, appName, n)
}
