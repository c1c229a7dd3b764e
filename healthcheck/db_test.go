package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/redact"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

func TestDB(t *testing.T) {
	c := pgtest.Start(t)
	wrong := "wrong-" + c.Password
	tests := []struct {
		name          string
		dsn           string
		wantHealthy   bool
		wantReason    string
		wantTransient bool
	}{
		{"url, sslmode prefer by default", c.URL(c.User, c.Password, c.Database, ""), true, "SELECT 1 ok", false},
		{"url, sslmode disable", c.AppURL(), true, "SELECT 1 ok", false},
		{"key=value over TCP", fmt.Sprintf("host=127.0.0.1 port=%d user=%s password='%s' dbname=%s", c.Port, c.User, c.Password, c.Database), true, "SELECT 1 ok", false},
		{"unix socket", c.SocketDSN(c.User, c.Database), true, ".s.PGSQL.", false},
		{"wrong password", c.URL(c.User, wrong, c.Database, ""), false, `password authentication failed for user "app" (28P01)`, false},
		{"wrong password, key=value", fmt.Sprintf("host=127.0.0.1 port=%d user=%s password='%s' dbname=%s", c.Port, c.User, wrong, c.Database), false, "28P01", false},
		{"missing database", c.URL(c.User, c.Password, "nope", ""), false, `database "nope" does not exist (3D000)`, false},
		{"sslmode require, server without TLS", c.URL(c.User, c.Password, c.Database, "sslmode=require"), false, "SSL is not enabled on the server", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DB(context.Background(), tc.dsn, 5*time.Second)
			if got.Healthy != tc.wantHealthy || !strings.Contains(got.Reason, tc.wantReason) || strings.Contains(got.Reason, "\n") {
				t.Errorf("DB(%s) = %+v; want healthy %v, one line with %q", redact.Redact(tc.dsn), got, tc.wantHealthy, tc.wantReason)
			}
			if pgconn.Transient(got.Err) != tc.wantTransient {
				t.Errorf("pgconn.Transient(%v) = %v, want %v", got.Err, !tc.wantTransient, tc.wantTransient)
			}
			noPassword(t, got, c.Password, wrong)
		})
	}
}

// noPassword fails t when a result holds one of the passwords.
func noPassword(t *testing.T, r Result, passwords ...string) {
	t.Helper()
	for _, pw := range passwords {
		if strings.Contains(r.Reason, pw) || r.Err != nil && strings.Contains(r.Err.Error(), pw) {
			t.Errorf("result holds a password: reason %q, err %v", r.Reason, r.Err)
		}
	}
}

// TestDBSilentPeer: a server that accepts and never answers ends the probe
// at its timeout, whatever lib/pq's own settings say.
func TestDBSilentPeer(t *testing.T) {
	addr := pgtest.SilentPeer(t)
	const timeout = 500 * time.Millisecond
	tests := []struct{ name, dsn string }{
		{"sslmode prefer (TLS request unanswered)", "postgres://app:hunter2hunter2@" + addr + "/app"},
		{"sslmode disable (startup unanswered)", "postgres://app:hunter2hunter2@" + addr + "/app?sslmode=disable"},
		{"connect_timeout longer than ours", "postgres://app:hunter2hunter2@" + addr + "/app?sslmode=disable&connect_timeout=30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			got := DB(context.Background(), tc.dsn, timeout)
			testutil.Within(t, start, timeout)
			if got.Healthy || !strings.Contains(got.Reason, "timeout after 500ms") || !pgconn.Transient(got.Err) {
				t.Errorf("DB against a silent peer = %+v; want unhealthy, timeout, transient", got)
			}
			noPassword(t, got, "hunter2hunter2")
		})
	}
}

func TestDBCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	got := DB(ctx, "postgres://app@"+pgtest.SilentPeer(t)+"/app?sslmode=disable", time.Minute)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a cancel ended the probe after %s", took)
	}
	if got.Healthy || !strings.Contains(got.Reason, "cancelled") || pgconn.Transient(got.Err) {
		t.Errorf("DB cancelled = %+v; want unhealthy, cancelled, not transient", got)
	}
}

func TestDBNoServer(t *testing.T) {
	got := DB(context.Background(), "postgres://app:hunter2hunter2@"+testutil.RefusedAddr(t)+"/app", time.Second)
	if got.Healthy || !strings.Contains(got.Reason, "connection refused") || !pgconn.Transient(got.Err) {
		t.Errorf("DB with nothing listening = %+v; want unhealthy, refused, transient", got)
	}
	noPassword(t, got, "hunter2hunter2")
}

func TestDBBadURL(t *testing.T) {
	got := DB(context.Background(), "postgres://app:hunter2hunter2@db:port/app", time.Second)
	var cfgErr *pgconn.ConfigError
	if got.Healthy || !errors.As(got.Err, &cfgErr) || pgconn.Transient(got.Err) || !strings.Contains(got.Reason, "invalid port") {
		t.Errorf("DB with a bad URL = %+v; want unhealthy, a pgconn.ConfigError naming the port", got)
	}
	noPassword(t, got, "hunter2hunter2")
}

func TestDBRefusesPQGODebug(t *testing.T) {
	t.Setenv("PQGO_DEBUG", "1")
	got := DB(context.Background(), "postgres://app:hunter2hunter2@"+testutil.RefusedAddr(t)+"/app", time.Second)
	if got.Healthy || !errors.Is(got.Err, pgconn.ErrPQGODebug) {
		t.Errorf("DB with PQGO_DEBUG=1 = %+v; want unhealthy, pgconn.ErrPQGODebug", got)
	}
}
