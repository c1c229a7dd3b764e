// Package connstr reads the text of a PostgreSQL connection string the way
// lib/pq does, without connecting and without lib/pq: where the password
// values lie (for redaction) and whether key=value text names a host. It
// never allocates more than the spans it returns and never fails: text that
// lib/pq would reject is reported as such.
package connstr

import "strings"

// Span is a value in a connection string: bytes [Start, End) of it.
type Span struct{ Start, End int }

// IsPasswordKey reports whether a key (of key=value text or of a URL's
// query) holds a password: password or sslpassword, in any case.
func IsPasswordKey(key string) bool {
	return strings.EqualFold(key, "password") || strings.EqualFold(key, "sslpassword")
}

// IsURL reports whether lib/pq parses s as a URL (it checks these two
// prefixes, case-sensitively) rather than as key=value text.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
