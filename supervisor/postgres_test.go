package supervisor

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakePostmasterHelper plays a postmaster: run as an executable named
// postgres, it writes postmaster.pid with its pid into its working
// directory (its data directory, as a postmaster's is), says ready, and
// reports the signals it gets. SIGINT (fast shutdown) ends it after
// args[0] (its "checkpoint", default 0); SIGTERM ends it at once.
func fakePostmasterHelper(args []string) int {
	checkpoint := time.Duration(0)
	if len(args) > 0 {
		checkpoint, _ = time.ParseDuration(args[0])
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	dir, _ := os.Getwd()
	if err := os.WriteFile("postmaster.pid", fmt.Appendf(nil, "%d\n%s\n", os.Getpid(), dir), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ready %d\n", os.Getpid())
	for sig := range sigs {
		fmt.Printf("postmaster got %s\n", unix.SignalName(sig.(syscall.Signal)))
		switch sig {
		case syscall.SIGINT:
			time.Sleep(checkpoint) // the shutdown checkpoint it plays, not synchronisation
			return 0
		case syscall.SIGTERM:
			return 0
		}
	}
	return 0
}

// leavePostmasterHelper starts args[0] (a copy of the test binary named
// postgres) as a fake postmaster in the directory args[1], with its own
// stdout, waits for its postmaster.pid, and exits, leaving it behind.
// args[2:] go to the fake.
func leavePostmasterHelper(args []string) int {
	cmd := exec.Command(args[0], append([]string{"fake-postmaster"}, args[2:]...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = args[1], os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		if b, err := os.ReadFile(filepath.Join(args[1], "postmaster.pid")); err == nil && len(b) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronisation
	}
	fmt.Printf("left %d\n", cmd.Process.Pid)
	return 0
}

// fakePostgres copies the test binary to a file named postgres, in a data
// directory of its own, and returns both.
func fakePostgres(t *testing.T) (exe, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe = filepath.Join(dir, "postgres")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	dataDir = filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	return exe, dataDir
}

// A postmaster child gets SIGINT for SIGTERM, unless the user's own rewrite
// or stop sequence says what it gets, or the feature is off. Its data
// directory holds no pg_control: lastcall says the state is unknown.
func TestPostmasterChildGetsSIGINT(t *testing.T) {
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"default", nil, "SIGINT"},
		{"group", []string{"-group"}, "SIGINT"},
		{"user's rewrite", []string{"-rewrite", "TERM:TERM"}, "SIGTERM"},
		{"user's sequence", []string{"-sequence", "TERM,5s"}, "SIGTERM"},
		{"off", []string{"-postgres=false"}, "SIGTERM"},
	}
	forEachMode(t, func(t *testing.T, m mode) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				exe, data := fakePostgres(t)
				r := startLastcall(t, m, nil, tt.flags, "/bin/sh", "-c", "cd '"+data+"' && exec '"+exe+"' fake-postmaster")
				r.waitLine("ready")
				r.signal(m, syscall.SIGTERM)
				r.waitLine("postmaster got " + tt.want)
				if got := r.wait(); got != 0 {
					t.Errorf("exit code %d; stderr:\n%s", got, r.stderr)
				}
				// Recognised, whatever signal it got, unless the feature is off.
				on := !slices.Contains(tt.flags, "-postgres=false")
				if got := strings.Contains(r.stderr.String(), "postgres exited; its state is unknown"); got != on {
					t.Errorf("postgres state line: %v, want %v; stderr:\n%s", got, on, r.stderr)
				}
				if got := strings.Contains(r.stderr.String(), "is the child: it gets "+tt.want); got != on {
					t.Errorf("the plan line says the child gets %s: %v, want %v; stderr:\n%s", tt.want, got, on, r.stderr)
				}
			})
		}
	})
}

// A postmaster left behind by the child gets SIGINT, alone, and the budget
// for its shutdown, not --leftover-grace: one that takes longer than the
// grace to finish is not killed.
func TestLeftoverPostmasterGetsTheBudget(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		exe, data := fakePostgres(t)
		r := startLastcall(t, m, nil, []string{"-leftover-grace", "50ms", "-budget", "20s"},
			helperCmd("leave-postmaster", exe, data, "500ms")...)
		r.waitLine("left ")
		r.waitLine("postmaster got SIGINT")
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d; stderr:\n%s", got, r.stderr)
		}
		log := r.stderr.String()
		for _, want := range []string{"stopping postgres: fast shutdown", "postgres exited; its state is unknown", `"killed": false`} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
		for _, unwanted := range []string{"postmaster got SIGTERM", "did not shut down within the budget", "leftovers still alive"} {
			if strings.Contains(strings.Join(r.seen, "\n")+log, unwanted) {
				t.Errorf("%q: the postmaster was not stopped as one:\n%s", unwanted, log)
			}
		}
	})
}

// BeforePostgresStop runs when the app is down and the postmaster still
// runs; the postmaster gets SIGINT only once its channel is closed.
func TestBeforePostgresStop(t *testing.T) {
	forEachMode(t, func(t *testing.T, m mode) {
		exe, data := fakePostgres(t)
		r := startLastcall(t, m, nil, []string{"-budget", "20s", "-hold-postgres", "300ms"},
			helperCmd("leave-postmaster", exe, data)...)
		r.waitLine("left ")
		r.waitLine("postmaster got SIGINT")
		if got := r.wait(); got != 0 {
			t.Errorf("exit code %d; stderr:\n%s", got, r.stderr)
		}
		log := r.stderr.String()
		order := []string{"terminating leftovers", "hook: before postgres stop", "hook: verdict taken",
			"stopping postgres: fast shutdown", "postgres exited"}
		at := -1
		for _, want := range order {
			i := strings.Index(log, want)
			if i <= at {
				t.Fatalf("%q not after %q in the log:\n%s", want, order, log)
			}
			at = i
		}
	})
}
