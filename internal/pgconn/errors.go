package pgconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lastcall-dev/lastcall/internal/dial"
)

// ErrPQGODebug is returned by [DB] when PQGO_DEBUG=1 is in the environment:
// lib/pq would print the whole connection string, password included, to
// stderr.
var ErrPQGODebug = errors.New("PQGO_DEBUG=1 is set: lib/pq would print the password to stderr; unset PQGO_DEBUG")

// ConfigError is a database URL that lib/pq does not accept. Its text never
// contains a password, and it does not wrap lib/pq's error (which may echo
// the whole URL).
type ConfigError struct{ msg string }

func (e *ConfigError) Error() string { return e.msg }

// scrubbedError is an error whose text had the passwords scrubbed from it;
// it wraps the original for errors.Is and errors.As (a *pq.Error, a
// *net.OpError), whose own text never held the connection string.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Transient reports whether err may go away if the caller tries again: the
// server refused, was unreachable or not found in DNS, a deadline ran out,
// the unix socket does not exist yet, the connection was reset or closed
// early, or PostgreSQL said it cannot accept the connection now (SQLSTATE
// 57P03, 53300, 57P01, 57P02, class 08). Authentication failures (28P01,
// 28000), a missing database (3D000), any other SQLSTATE, TLS mismatches,
// bad URLs, a cancelled context and unknown errors are not transient.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var sqlErr interface{ SQLState() string }
	if errors.As(err, &sqlErr) {
		return transientSQLState(sqlErr.SQLState())
	}
	if isTLSError(err) {
		return false
	}
	var dnsErr *net.DNSError
	switch {
	case dial.IsTimeout(err), errors.As(err, &dnsErr):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EAGAIN):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, driver.ErrBadConn):
		return true
	}
	return false
}

func transientSQLState(code string) bool {
	switch code {
	case "57P03", // cannot_connect_now: starting up, shutting down, in recovery
		"53300", // too_many_connections
		"57P01", // admin_shutdown
		"57P02": // crash_shutdown
		return true
	}
	return strings.HasPrefix(code, "08") // connection_exception
}

// isTLSError reports whether err comes from TLS: a server without TLS under
// sslmode=require, a failed handshake or certificate check.
func isTLSError(err error) bool {
	var (
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	return errors.Is(err, errSSLNotSupported) || errors.As(err, &recordErr) || errors.As(err, &alertErr) ||
		errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) ||
		errors.As(err, &invalid)
}
