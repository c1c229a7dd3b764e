package pgconn

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/lastcall-dev/lastcall/internal/dial"
)

// clampDialer opens lib/pq's sockets under one hard deadline that lib/pq
// cannot lift. It implements pq.Dialer and pq.DialerContext. Every
// connection it returns has the deadline set right after dialing, and
// clamps every later deadline to it: lib/pq resets deadlines to zero ("none")
// after its startup when connect_timeout is set, and never sets one while it
// waits for a query's answer.
//
// It also remembers its connections, so that closeAll can end every one of
// them: on the caller's cancel, and when the probe is done (lib/pq leaves the
// first socket of an sslmode=prefer fallback open).
type clampDialer struct {
	deadline time.Time

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newClampDialer(deadline time.Time) *clampDialer {
	return &clampDialer{deadline: deadline}
}

func (d *clampDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d *clampDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d *clampDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(ctx, d.deadline)
	defer cancel()
	conn, err := dial.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(d.deadline); err != nil {
		_ = conn.Close()
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	c := &clampConn{Conn: conn, deadline: d.deadline}
	d.conns = append(d.conns, c)
	return c, nil
}

// closeAll closes every connection dialed so far, and makes later dials fail.
func (d *clampDialer) closeAll() {
	d.mu.Lock()
	conns := d.conns
	d.conns, d.closed = nil, true
	d.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// clampConn is a net.Conn whose deadlines never go past deadline.
type clampConn struct {
	net.Conn
	deadline time.Time
}

func (c *clampConn) clamp(t time.Time) time.Time {
	if t.IsZero() || t.After(c.deadline) {
		return c.deadline
	}
	return t
}

func (c *clampConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *clampConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *clampConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }
