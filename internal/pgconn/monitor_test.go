package pgconn

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// openMonitor opens a monitor with dsn whose hard deadline is in d.
func openMonitor(t *testing.T, dsn string, d time.Duration) *Monitor {
	t.Helper()
	m, err := OpenMonitor(context.Background(), dsn, time.Now().Add(d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMonitorSessions(t *testing.T) {
	c := pgtest.Start(t)
	c.Exec(t, "CREATE ROLE other LOGIN")
	tag, otherTag := NewTag(), NewTag()
	tagged := pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tag))
	pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), otherTag))
	pgtest.HoldSession(t, c.AppURL()) // untagged
	pgtest.HoldSession(t, pgtest.WithAppName(c.SocketDSN("other", c.Database), tag))

	ctx := context.Background()
	if _, err := tagged.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	m := openMonitor(t, c.AppURL(), 10*time.Second)
	got, err := m.Sessions(ctx, tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("Sessions(%s) = %+v; want our two sessions (the app role's, the other role's)", tag, got)
	}
	mine, theirs := got[0], got[1]
	if mine.Hidden {
		mine, theirs = theirs, mine
	}
	if mine.Hidden || mine.State != "idle in transaction" || mine.ClientAddr != "127.0.0.1" || mine.ClientPort <= 0 ||
		mine.XactStart.IsZero() || mine.BackendStart.IsZero() || mine.ApplicationName != tag || mine.Query != "" {
		t.Errorf("the app role's session = %+v; want visible, idle in transaction from 127.0.0.1, no query text", mine)
	}
	if !theirs.Hidden || theirs.State != "" || theirs.ClientPort != 0 || theirs.BackendPID == 0 || theirs.ApplicationName != tag {
		t.Errorf("the other role's session = %+v; want hidden, with pid and tag only", theirs)
	}
}

func TestMonitorQueryText(t *testing.T) {
	c := pgtest.Start(t)
	tag := NewTag() + strings.Repeat("-long", 12) // the server keeps 63 bytes
	conn := pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tag))
	if _, err := conn.ExecContext(context.Background(), "SELECT 42"); err != nil {
		t.Fatal(err)
	}
	m := openMonitor(t, c.AppURL(), 10*time.Second)
	m.Query = true
	got, err := m.Sessions(context.Background(), tag, nil)
	if err != nil || len(got) != 1 || got[0].Query != "SELECT 42" || got[0].State != "idle" || got[0].ApplicationName != tag[:63] {
		t.Errorf("Sessions with Query = %+v, %v; want one idle session named %q whose query is SELECT 42", got, err, tag[:63])
	}
}

// TestMonitorPorts: after a passing self-check, local ports pick sessions.
func TestMonitorPorts(t *testing.T) {
	c := pgtest.Start(t)
	tag := NewTag()
	a := pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tag))
	pgtest.HoldSession(t, pgtest.WithAppName(c.AppURL(), tag))
	m := openMonitor(t, c.AppURL(), 10*time.Second)
	ctx := context.Background()
	var portA int
	if err := a.QueryRowContext(ctx, "SELECT client_port FROM pg_stat_activity WHERE pid = pg_backend_pid()").Scan(&portA); err != nil {
		t.Fatal(err)
	}
	before, err := m.Sessions(ctx, tag, []uint16{uint16(portA)})
	if err != nil || len(before) != 2 {
		t.Fatalf("Sessions with ports, before the self-check = %+v, %v; want both (no filter yet)", before, err)
	}
	if res, err := m.SelfCheck(ctx); err != nil || !res.Direct {
		t.Fatalf("SelfCheck on loopback = %+v, %v; want direct", res, err)
	}
	after, err := m.Sessions(ctx, tag, []uint16{uint16(portA)})
	if err != nil || len(after) != 1 || after[0].ClientPort != portA {
		t.Errorf("Sessions with port %d after the self-check = %+v, %v; want that session only", portA, after, err)
	}
}

func TestMonitorSelfCheck(t *testing.T) {
	c := pgtest.Start(t)
	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
	proxied := strings.Replace(c.AppURL(), server, testutil.TCPProxy(t, testutil.ForwardTo(server)), 1)
	tests := []struct {
		name, dsn, reason string
		direct            bool
	}{
		{"loopback", c.AppURL(), "as it is here", true},
		{"through a TCP proxy", proxied, "NAT or a proxy", false},
		{"unix socket", c.SocketDSN(c.User, c.Database), "unix socket", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := openMonitor(t, tc.dsn, 10*time.Second)
			res, err := m.SelfCheck(context.Background())
			if err != nil || res.Direct != tc.direct || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("SelfCheck = %+v, %v; want direct %v, reason with %q", res, err, tc.direct, tc.reason)
			}
		})
	}
}

// TestMonitorDeadline: a frozen server, a frozen monitor backend or a silent
// peer end every step by the monitor's deadline.
func TestMonitorDeadline(t *testing.T) {
	const deadline = 700 * time.Millisecond
	t.Run("silent peer", func(t *testing.T) {
		start := time.Now()
		_, err := OpenMonitor(context.Background(), "postgres://app:hunter2hunter2@"+pgtest.SilentPeer(t)+"/app", start.Add(deadline))
		testutil.Within(t, start, deadline)
		if err == nil || !Transient(err) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenMonitor against a silent peer: %v; want a transient error without the password", err)
		}
	})
	c := pgtest.Start(t)
	t.Run("frozen postmaster", func(t *testing.T) {
		pgtest.Freeze(t, c.PID)
		start := time.Now()
		_, err := OpenMonitor(context.Background(), c.AppURL(), start.Add(deadline))
		testutil.Within(t, start, deadline)
		if err == nil {
			t.Error("OpenMonitor against a frozen server: nil error")
		}
	})
	t.Run("frozen backend", func(t *testing.T) {
		start := time.Now()
		m := openMonitor(t, c.AppURL(), deadline)
		pgtest.Freeze(t, pgtest.BackendPID(t, c, MonitorAppName))
		_, err := m.Sessions(context.Background(), "x", nil)
		testutil.Within(t, start, deadline)
		if err == nil || !Transient(err) {
			t.Errorf("Sessions on a frozen backend: %v; want a transient error", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		m := openMonitor(t, c.AppURL(), time.Minute)
		pgtest.Freeze(t, pgtest.BackendPID(t, c, MonitorAppName))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := m.Sessions(ctx, "x", nil)
		testutil.Within(t, start, 200*time.Millisecond)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sessions past its context's deadline: %v; want DeadlineExceeded", err)
		}
	})
}
