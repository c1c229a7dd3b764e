package pgconn

import (
	"slices"
	"strings"
)

// unsupportedPGEnv are the PG* variables whose mere presence (any value,
// even empty) makes lib/pq v1.12.3 refuse every connection (Config.fromEnv):
// deprecated ones, GSSAPI/Kerberos ones, and libpq features lib/pq lacks.
// PGKRBSRVNAME is refused too because lastcall registers no GSS provider.
var unsupportedPGEnv = []string{
	"PGREQUIRESSL", "PGSSLCOMPRESSION",
	"PGREALM", "PGGSSENCMODE", "PGGSSDELEGATION", "PGGSSLIB", "PGKRBSRVNAME",
	"PGREQUIREAUTH", "PGCHANNELBINDING",
	"PGSSLCERTMODE", "PGSSLCRL", "PGSSLCRLDIR", "PGREQUIREPEER",
}

// UnsupportedPGEnv names the variables of env (KEY=VALUE entries) that make
// lib/pq v1.12.3 fail on every connection, in env's order, each once. They
// may suit the child (libpq honours them); lastcall drops them from its own
// environment before it connects.
func UnsupportedPGEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(unsupportedPGEnv, k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// CheckPQGODebug returns [ErrPQGODebug] when env (KEY=VALUE entries) has
// PQGO_DEBUG=1, which makes lib/pq print every connection string, password
// included, to stderr. lib/pq v1.12.3 ignores other values.
func CheckPQGODebug(env []string) error {
	for _, kv := range env {
		if kv == "PQGO_DEBUG=1" {
			return ErrPQGODebug
		}
	}
	return nil
}
