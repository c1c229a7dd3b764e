package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// --wait-db starts the app once the database answers, and never starts it
// when the database refuses lastcall for good or does not come up in time.
func TestWaitDB(t *testing.T) {
	c := pgtest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nobody := "postgres://app:x@127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/app?sslmode=disable"
	ln.Close() // a port with nothing listening: connection refused, transient
	tests := []struct {
		name    string
		env     []string
		url     string
		wait    string
		code    int
		ran     bool
		atMost  time.Duration
		wantLog string
	}{
		{"ready", nil, c.AppURL(), "10s", 0, true, 10 * time.Second, ""},
		// lib/pq refuses PGGSSENCMODE: lastcall drops it from its own
		// environment, the app keeps it.
		{"ready, with a PG variable lib/pq refuses", []string{"PGGSSENCMODE=disable"}, c.AppURL(), "10s", 0, true,
			10 * time.Second, "PGGSSENCMODE"},
		{"wrong password fails fast", nil, c.URL(c.User, "wrong-canary-password", c.Database, "sslmode=disable"), "30s",
			exitDBNotReady, false, 5 * time.Second, "password authentication failed"},
		{"nothing listening times out", nil, nobody, "1s", exitDBNotReady, false, 10 * time.Second, "database not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			start := time.Now()
			got := runLastcall(t, dir, append([]string{"DATABASE_URL=" + tt.url}, tt.env...), withChild("--wait-db", tt.wait)...)
			took := time.Since(start)
			_, statErr := os.Stat(filepath.Join(dir, "ran"))
			if got.code != tt.code || (statErr == nil) != tt.ran || took > tt.atMost {
				t.Errorf("exit %d, app ran %v, after %v; want %d, %v, at most %v; stderr:\n%s",
					got.code, statErr == nil, took, tt.code, tt.ran, tt.atMost, got.stderr)
			}
			if !strings.Contains(got.stderr, tt.wantLog) || strings.Contains(got.stderr, "wrong-canary-password") {
				t.Errorf("stderr lacks %q or holds the password:\n%s", tt.wantLog, got.stderr)
			}
		})
	}
}
