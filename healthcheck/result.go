package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// Result is what a probe found.
type Result struct {
	// Healthy is true when the probe got the answer it wanted.
	Healthy bool
	// Reason says why, in one line: what was probed and what answered (or
	// the error, briefly). It never contains a password.
	Reason string
	// Err is the error behind an unhealthy result, for [Transient]; nil when
	// healthy or when the target answered but not as wanted (an HTTP 500).
	// Its text is the same scrubbed text the Reason uses.
	Err error
}

func healthy(format string, a ...any) Result {
	return Result{Healthy: true, Reason: oneLine(fmt.Sprintf(format, a...))}
}

func unhealthy(err error, format string, a ...any) Result {
	return Result{Reason: oneLine(fmt.Sprintf(format, a...)), Err: err}
}

// oneLine folds a multi-line message (lib/pq joins per-host errors with
// newlines) into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

// deadlineFor is the earlier of ctx's deadline and now+timeout.
func deadlineFor(ctx context.Context, timeout time.Duration) time.Time {
	d := time.Now().Add(timeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// describe says briefly what went wrong: "timeout after 3s", "connection
// refused", "DNS lookup of db.internal failed: no such host", or else the
// error's own text.
func describe(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case isTimeout(err):
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("DNS lookup of %s failed: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	}
	return err.Error()
}

// isTimeout reports whether err is a deadline that ran out: the context's,
// a socket's, or a dialer's.
func isTimeout(err error) bool {
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}

// dialContext opens a stream connection like net.Dialer.DialContext, except
// that the host name "localhost" is always the loopback address (127.0.0.1,
// then ::1) without asking a resolver: a FROM scratch image has no
// /etc/hosts, and Go's resolver then sends "localhost" to a DNS server that
// is not there.
func dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	host, port, err := net.SplitHostPort(address)
	if err != nil || !strings.EqualFold(host, "localhost") || !strings.HasPrefix(network, "tcp") {
		return d.DialContext(ctx, network, address)
	}
	conn, err := d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
	if err == nil || ctx.Err() != nil || network == "tcp4" {
		return conn, err
	}
	conn6, err6 := d.DialContext(ctx, "tcp6", net.JoinHostPort("::1", port))
	if err6 != nil {
		return nil, err // the IPv4 error is the one users expect
	}
	return conn6, nil
}
