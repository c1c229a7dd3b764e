// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb in a
// fresh directory, one postgres server listening on a unix socket in that
// directory and on a random loopback TCP port, a role without superuser
// rights and a database it owns. The cluster is stopped (immediate shutdown)
// and its directory removed when the test ends; no postgres process outlives
// the test.
//
// The server binaries come from `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin. Without them [Start] skips the test with a loud
// reason, or fails it when LASTCALL_REQUIRE_PG=1 (CI sets it).
//
// initdb refuses to run as root: as root, the cluster belongs to the OS user
// postgres, and its directory is made under os.TempDir() for that user.
//
// Authentication: trust on the unix socket (the superuser "postgres" connects
// there, for setup), scram-sha-256 on TCP (the app role, with its password).
// TLS is off.
package pgtest

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" database/sql driver
)

// Superuser is the cluster's superuser; it connects over the unix socket only.
const Superuser = "postgres"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	// Dir holds data/, the unix socket and postgres.log.
	Dir string
	// SocketDir is the directory of the unix socket (.s.PGSQL.<Port>).
	SocketDir string
	// Port is the TCP port on 127.0.0.1, and the unix socket's number.
	Port int
	// User, Password: a LOGIN role without superuser rights, for TCP.
	User, Password string
	// Database is owned by User.
	Database string
	// PID is the postmaster's process id.
	PID int

	logPath string
}

// startTimeout bounds initdb, and the server's start until it accepts
// connections.
const startTimeout = 60 * time.Second

// Start starts a cluster for t and stops it when t ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	owner, err := ClusterOwner()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	dir := owner.TempDir(t, "lastcall-pg-")
	c := &Cluster{Dir: dir, SocketDir: dir, User: "app", Password: "pgtest-" + randomHex(t, 12),
		Database: "app", logPath: filepath.Join(dir, "postgres.log")}
	c.initdb(t, bin, owner)
	c.start(t, bin, owner)
	c.Exec(t, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", c.User, c.Password))
	c.Exec(t, fmt.Sprintf("CREATE DATABASE %s OWNER %s", c.Database, c.User))
	return c
}

// URL is a TCP URL (127.0.0.1:Port) for user and password on database; query
// is appended as it is, e.g. "sslmode=disable" (lib/pq's own default is
// sslmode=require, which this cluster refuses).
func (c *Cluster) URL(user, password, database, query string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + database, RawQuery: query}
	return u.String()
}

// AppURL is the app role's URL with sslmode=disable.
func (c *Cluster) AppURL() string { return c.URL(c.User, c.Password, c.Database, "sslmode=disable") }

// SocketDSN is a key=value DSN for user on database over the unix socket,
// where every role is trusted (no password).
func (c *Cluster) SocketDSN(user, database string) string {
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable connect_timeout=5",
		c.SocketDir, c.Port, user, database)
}

// Exec runs statements as the superuser, over the unix socket.
func (c *Cluster) Exec(t testing.TB, statements string) {
	t.Helper()
	if err := c.exec(statements); err != nil {
		t.Fatalf("pgtest: %s: %v", statements, err)
	}
}

func (c *Cluster) exec(statements string) error {
	db, err := sql.Open("postgres", c.SocketDSN(Superuser, "postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, statements)
	return err
}

// Log is the server's log so far, for failure messages.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

func (c *Cluster) initdb(t testing.TB, bin string, owner Owner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", filepath.Join(c.Dir, "data"),
		"-U", Superuser, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = c.Dir
	cmd.SysProcAttr = owner.SysProcAttr(syscall.SIGQUIT)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
}

// BinDir is the directory of the server's programs (initdb, postgres,
// pg_ctl, pg_controldata). Without them it skips t, or fails it when
// LASTCALL_REQUIRE_PG=1.
func BinDir(t testing.TB) string {
	t.Helper()
	bin, err := binDir()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	return bin
}

// skipOrFail skips t with reason, or fails it when LASTCALL_REQUIRE_PG=1.
func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("LASTCALL_REQUIRE_PG") == "1" {
		t.Fatalf("LASTCALL_REQUIRE_PG=1 but no PostgreSQL for this test: %s", reason)
	}
	t.Skipf("SKIPPING: no PostgreSQL for this test: %s (install postgresql; LASTCALL_REQUIRE_PG=1 makes this a failure)", reason)
}

// binDir finds the directory of initdb and postgres.
func binDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	candidates = append(candidates, newestFirst(dirs)...)
	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no initdb and postgres in `pg_config --bindir` or /usr/lib/postgresql/*/bin")
}

// newestFirst sorts /usr/lib/postgresql/N/bin paths by N, highest first.
func newestFirst(dirs []string) []string {
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	out := slices.Clone(dirs)
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	return out
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
