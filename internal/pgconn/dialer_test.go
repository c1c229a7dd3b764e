package pgconn

import (
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/testutil"

	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestClampDialer proves the clamp: deadlines that lib/pq sets later than
// the hard deadline, or clears, still end a read at the hard deadline.
func TestClampDialer(t *testing.T) {
	addr := pgtest.SilentPeer(t)
	tests := []struct {
		name string
		set  func(net.Conn) error
	}{
		{"as dialed", func(net.Conn) error { return nil }},
		{"cleared", func(c net.Conn) error { return c.SetDeadline(time.Time{}) }},
		{"read deadline cleared", func(c net.Conn) error { return c.SetReadDeadline(time.Time{}) }},
		{"later", func(c net.Conn) error { return c.SetDeadline(time.Now().Add(time.Hour)) }},
	}
	const timeout = 200 * time.Millisecond
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			d := newClampDialer(start.Add(timeout))
			defer d.closeAll()
			conn, err := d.DialContext(context.Background(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.set(conn); err != nil {
				t.Fatal(err)
			}
			_, err = conn.Read(make([]byte, 1))
			testutil.Within(t, start, timeout)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("read from a silent peer: %v, want a deadline error", err)
			}
		})
	}
}

func TestClampDialerEarlierDeadlineKept(t *testing.T) {
	d := newClampDialer(time.Now().Add(time.Hour))
	defer d.closeAll()
	conn, err := d.DialContext(context.Background(), "tcp", pgtest.SilentPeer(t))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(100 * time.Millisecond))
	_, err = conn.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 30*time.Second {
		t.Errorf("read with an earlier deadline: %v after %s", err, time.Since(start))
	}
}

func TestClampDialerCloseAll(t *testing.T) {
	d := newClampDialer(time.Now().Add(time.Hour))
	conn, err := d.DialContext(context.Background(), "tcp", pgtest.SilentPeer(t))
	if err != nil {
		t.Fatal(err)
	}
	d.closeAll()
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("read after closeAll: %v, want net.ErrClosed", err)
	}
	if _, err := d.Dial("tcp", pgtest.SilentPeer(t)); err == nil {
		t.Error("dial after closeAll succeeded")
	}
}
