package pgconn

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

func TestTransient(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	sqlErr := func(code string) error { return &pq.Error{Severity: "FATAL", Code: pqerror.Code(code), Message: "m"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused", opErr(syscall.ECONNREFUSED), true},
		{"host unreachable", opErr(syscall.EHOSTUNREACH), true},
		{"network unreachable", opErr(syscall.ENETUNREACH), true},
		{"no unix socket yet", opErr(syscall.ENOENT), true},
		{"reset", opErr(syscall.ECONNRESET), true},
		{"dns", &net.DNSError{Err: "no such host", Name: "db", IsNotFound: true}, true},
		{"context deadline", context.DeadlineExceeded, true},
		{"socket deadline", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), true},
		{"eof during startup", io.EOF, true},
		{"bad conn", driver.ErrBadConn, true},
		{"cannot connect now", sqlErr("57P03"), true},
		{"too many connections", sqlErr("53300"), true},
		{"admin shutdown", sqlErr("57P01"), true},
		{"connection failure", sqlErr("08006"), true},
		{"wrapped and scrubbed", &scrubbedError{msg: "x", err: sqlErr("57P03")}, true},
		{"wrong password", sqlErr("28P01"), false},
		{"no such role", sqlErr("28000"), false},
		{"no such database", sqlErr("3D000"), false},
		{"syntax error", sqlErr("42601"), false},
		{"server without TLS", pq.ErrSSLNotSupported, false},
		{"TLS record", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, false},
		{"bad URL", &ConfigError{msg: "x"}, false},
		{"PQGO_DEBUG", ErrPQGODebug, false},
		{"cancelled", context.Canceled, false},
		{"unknown", errors.New("something else"), false},
	}
	for _, tc := range tests {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("%s: Transient(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestScrubbedConfigErrors(t *testing.T) {
	tests := []struct{ name, dsn, password string }{
		{"bad port", "postgres://app:hunter2secret@db:port/app", "hunter2secret"},
		{"bad escape", "postgres://app:hunter2%zzsecret@db/app", "hunter2%zzsecret"},
		{"unquoted spaces", "host=db password=hunter2 secret", "secret"},
		{"bad sslmode", "postgres://app:hunter2secret@db/app?sslmode=sometimes", "hunter2secret"},
		{"mistyped scheme", "POSTGRES://app:hunter2secret@db/app", "hunter2secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pq.NewConfig(tc.dsn)
			if err == nil {
				t.Fatalf("lib/pq accepts %q: this case tests nothing", tc.dsn)
			}
			got := configError(tc.dsn, err).Error()
			if strings.Contains(got, tc.password) || strings.Contains(got, "hunter2") {
				t.Errorf("configError(%q) = %q, holds the password (lib/pq said %q)", tc.dsn, got, err)
			}
		})
	}
}
