package pgconn

import (
	"io"
	"time"
)

// setDeadline narrows the deadline of every open connection to t (a zero t,
// or one past the hard deadline, restores the hard deadline).
func (d *clampDialer) setDeadline(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		_ = c.SetDeadline(t)
	}
}

// closeStale closes every connection but the last one dialed: once lib/pq
// has connected, the last socket is the session's, and the others are
// leftovers (lib/pq leaves the first socket of an sslmode=prefer fallback
// open).
func (d *clampDialer) closeStale() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) < 2 {
		return
	}
	for _, c := range d.conns[:len(d.conns)-1] {
		_ = c.Close()
	}
	d.conns = d.conns[len(d.conns)-1:]
}

// ignoreEOF is nil for io.EOF, the end of a driver's rows.
func ignoreEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}
