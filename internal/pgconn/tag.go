package pgconn

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"

	"github.com/lib/pq"
)

// NewTag is a per-instance application_name, "lastcall-" and 8 hex digits
// from crypto/rand: short enough for the 63 bytes the server keeps, unique
// enough that replicas never share one.
func NewTag() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return "lastcall-" + hex.EncodeToString(b[:])
}

// TagEnv returns env with PGAPPNAME=tag added, for the child, and
// injected=true; when env already has PGAPPNAME (even empty: libpq and
// lib/pq then use that value) it returns env unchanged and false, and the
// user's value is the one to match. env itself is never modified.
// Sessions whose DSN names application_name keep that name whatever
// PGAPPNAME says.
func TagEnv(env []string, tag string) (newEnv []string, injected bool) {
	for _, kv := range env {
		if strings.HasPrefix(kv, "PGAPPNAME=") {
			return env, false
		}
	}
	out := make([]string, len(env), len(env)+1)
	copy(out, env)
	return append(out, "PGAPPNAME="+tag), true
}

// URLAppName is the application_name the URL itself names, if any (not
// the one lib/pq would take from PGAPPNAME).
func URLAppName(dsn string) string {
	cfg, err := pq.NewConfig(dsn)
	if err != nil || cfg.ApplicationName == os.Getenv("PGAPPNAME") {
		return ""
	}
	return cfg.ApplicationName
}
