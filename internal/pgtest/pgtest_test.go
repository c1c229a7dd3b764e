package pgtest

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// query runs a one-value query with dsn.
func query(t *testing.T, dsn, q string) (string, error) {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var v string
	err = db.QueryRowContext(ctx, q).Scan(&v)
	return v, err
}

func TestCluster(t *testing.T) {
	var pid int
	var dir string
	var children []proc
	t.Run("running", func(t *testing.T) {
		c := Start(t)
		pid, dir = c.PID, c.Dir
		got, err := query(t, c.AppURL(), "SELECT current_user || ' ' || current_database() || ' ' || (SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user)")
		if err != nil || got != "app app false" {
			t.Errorf("as the app role over TCP: %q, %v; want %q", got, err, "app app false")
		}
		_, err = query(t, c.URL(c.User, "wrong-"+c.Password, c.Database, "sslmode=disable"), "SELECT 1")
		if err == nil || !strings.Contains(err.Error(), "28P01") {
			t.Errorf("wrong password over TCP: %v; want 28P01", err)
		}
		if _, err := query(t, c.SocketDSN(Superuser, "postgres"), "SELECT 1"); err != nil {
			t.Errorf("superuser over the unix socket: %v", err)
		}
		children = childrenOf(pid)
		if len(children) == 0 {
			t.Errorf("postmaster %d has no child processes: the survivors check below proves nothing", pid)
		}
	})
	if pid == 0 {
		return // skipped or failed to start
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("postmaster %d still runs after the test's cleanup", pid)
	}
	for _, child := range children {
		if child.alive() {
			t.Errorf("postgres child %d still runs after the test's cleanup", child.pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still exists (stat: %v)", dir, err)
	}
}

func TestNewestFirst(t *testing.T) {
	got := newestFirst([]string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/13/bin"})
	want := "/usr/lib/postgresql/15/bin /usr/lib/postgresql/13/bin /usr/lib/postgresql/9.6/bin"
	if strings.Join(got, " ") != want {
		t.Errorf("newestFirst = %q, want %q", got, want)
	}
}
