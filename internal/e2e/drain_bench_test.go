package e2e

import (
	"database/sql"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// BenchmarkDrainShutdown measures what the drain check adds to a shutdown
// on loopback: SIGTERM to lastcall until it has exited, with psql idle as
// the app, without the check and with --db-check both. Compare the two
// "shutdown-ns" figures (issue 5's target: at most 15 ms more).
//
//	LASTCALL_REQUIRE_PG=1 go test -run '^$' -bench DrainShutdown -benchtime 30x ./internal/e2e
func BenchmarkDrainShutdown(b *testing.B) {
	if _, err := exec.LookPath("psql"); err != nil {
		b.Skip("psql plays the app here; install postgresql-client")
	}
	c := pgtest.Start(b)
	db, err := sql.Open("postgres", c.AppURL())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, check := range []string{"off", "both"} {
		b.Run("db-check="+check, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				total += oneShutdown(b, c, db, check)
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "shutdown-ns")
		})
	}
}

// appSessions counts the app's sessions: the app role's, but for this
// benchmark's own and lastcall's monitor.
const appSessions = `select count(*) from pg_stat_activity
	where usename = 'app' and pid <> pg_backend_pid() and application_name <> 'lastcall-monitor'`

// oneShutdown starts lastcall with psql, waits for psql's session, and
// times SIGTERM to lastcall's exit.
func oneShutdown(b *testing.B, c *pgtest.Cluster, db *sql.DB, check string) time.Duration {
	b.Helper()
	stdin, keep, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer keep.Close()
	defer stdin.Close()
	cmd := exec.Command(lastcallBinary(b), "--db-check", check, "--", "psql", c.AppURL(), "-q")
	cmd.Env = append(baseEnv(), "DATABASE_URL="+c.AppURL())
	cmd.Stdin = stdin
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n == 0; {
		if time.Now().After(deadline) {
			b.Fatal("psql's session never showed up")
		}
		_ = db.QueryRow(appSessions).Scan(&n)
	}
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	took := time.Since(start)
	// The next round must not see this one's session.
	for n := 1; n > 0 && time.Now().Before(deadline); {
		_ = db.QueryRow(appSessions).Scan(&n)
	}
	return took
}
