package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/lastcall-dev/lastcall/internal/dial"
)

// Result is what a probe found.
type Result struct {
	// Healthy is true when the probe got the answer it wanted.
	Healthy bool
	// Reason says why, in one line: what was probed and what answered (or
	// the error, briefly). It never contains a password.
	Reason string
	// Err is the error behind an unhealthy result, for [pgconn.Transient]; nil when
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
	case dial.IsTimeout(err):
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
