package healthcheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// logLines collects WaitReady's log lines.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func TestWaitReadyAtOnce(t *testing.T) {
	c := pgtest.Start(t)
	var logs logLines
	if err := WaitReady(context.Background(), c.AppURL(), 10*time.Second, logs.logf); err != nil || len(logs.all()) != 0 {
		t.Errorf("WaitReady on a running server = %v, logged %q; want nil, nothing logged", err, logs.all())
	}
}

// TestWaitReadyStartingServer: a port whose first connection is closed at
// once and whose second says "the database system is starting up" (57P03),
// then hands over to the real server.
func TestWaitReadyStartingServer(t *testing.T) {
	c := pgtest.Start(t)
	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port))
	forward := testutil.ForwardTo(server)
	addr := testutil.TCPProxy(t, func(n int, conn net.Conn) {
		switch n {
		case 1:
			_ = conn.Close()
		case 2:
			startingUp(conn)
		default:
			forward(n, conn)
		}
	})
	var logs logLines
	dsn := strings.Replace(c.AppURL(), server, addr, 1)
	err := WaitReady(context.Background(), dsn, 20*time.Second, logs.logf)
	lines := logs.all()
	if err != nil || len(lines) != 2 || !strings.Contains(lines[1], "57P03") || strings.Contains(strings.Join(lines, ""), c.Password) {
		t.Errorf("WaitReady on a starting server = %v, logged %q; want nil after two logged retries, the second 57P03, no password", err, lines)
	}
}

// startingUp reads a startup message and answers as a server that is still
// starting: ErrorResponse FATAL 57P03.
func startingUp(conn net.Conn) {
	defer func() { _ = conn.Close() }()
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return
	}
	if _, err := io.CopyN(io.Discard, conn, int64(binary.BigEndian.Uint32(size[:]))-4); err != nil {
		return
	}
	body := "SFATAL\x00VFATAL\x00C57P03\x00Mthe database system is starting up\x00\x00"
	msg := binary.BigEndian.AppendUint32([]byte{'E'}, uint32(4+len(body)))
	_, _ = conn.Write(append(msg, body...))
}

func TestWaitReadyFatal(t *testing.T) {
	c := pgtest.Start(t)
	wrong := "wrong-" + c.Password
	tests := []struct{ name, dsn, code string }{
		{"wrong password", c.URL(c.User, wrong, c.Database, "sslmode=disable"), "28P01"},
		{"missing database", c.URL(c.User, c.Password, "nope", "sslmode=disable"), "3D000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := WaitReady(context.Background(), tc.dsn, 30*time.Second, nil)
			var waitErr *WaitError
			var pqErr *pq.Error
			if took := time.Since(start); took > 10*time.Second { // its budget is 30s: it gave up at once
				t.Errorf("WaitReady took %s to give up; want at once, not its 30s", took)
			}
			if !errors.As(err, &waitErr) || waitErr.Timeout || waitErr.Attempts != 1 ||
				!errors.As(err, &pqErr) || string(pqErr.Code) != tc.code || strings.Contains(err.Error(), wrong) {
				t.Errorf("WaitReady = %v; want a fatal WaitError after 1 attempt wrapping SQLSTATE %s, no password", err, tc.code)
			}
		})
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	const max = 600 * time.Millisecond
	var logs logLines
	start := time.Now()
	err := WaitReady(context.Background(), "postgres://app:hunter2hunter2@"+testutil.RefusedAddr(t)+"/app", max, logs.logf)
	took := time.Since(start)
	var waitErr *WaitError
	if !errors.As(err, &waitErr) || !waitErr.Timeout || waitErr.Attempts < 3 || took < max || took > max+5*time.Second ||
		!strings.Contains(err.Error(), "not ready") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("WaitReady with nothing listening = %v after %s; want a timeout WaitError after %s with several attempts", err, took, max)
	}
	if lines := logs.all(); len(lines) != waitErr.Attempts-1 || !strings.Contains(lines[0], "connection refused") {
		t.Errorf("logged %q; want one line per retried attempt, saying connection refused", lines)
	}
}

func TestWaitReadyCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(300*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	err := WaitReady(ctx, "postgres://app@"+testutil.RefusedAddr(t)+"/app", time.Minute, nil)
	var waitErr *WaitError
	if took := time.Since(start); took > 2*time.Second || !errors.As(err, &waitErr) || waitErr.Timeout {
		t.Errorf("WaitReady cancelled = %v after %s; want a WaitError, not a timeout, soon after the cancel", err, took)
	}
}

func TestWaitReadyBadURL(t *testing.T) {
	err := WaitReady(context.Background(), "postgres://app:hunter2hunter2@db:port/app", time.Minute, nil)
	var cfgErr *pgconn.ConfigError
	if !errors.As(err, &cfgErr) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("WaitReady with a bad URL = %v; want a pgconn.ConfigError without the password", err)
	}
}
