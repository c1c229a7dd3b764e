package healthcheck

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/procfs"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// holdDBHelper is the app's descendant, played by the test binary (see
// TestMain): it opens one connection with $LASTCALL_TEST_DSN (PGAPPNAME from
// its environment tags it, as it tags a real app's), prints "ready", and
// keeps the connection until stdin closes or it is killed.
func holdDBHelper() int {
	db, _, err := pgtest.OpenConn(os.Getenv("LASTCALL_TEST_DSN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hold-db:", err)
		return 1
	}
	defer func() { _ = db.Close() }()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startHoldDB runs the hold-db helper with dsn and PGAPPNAME=tag and waits
// for its ready line. The helper is killed and reaped when the test ends.
func startHoldDB(t *testing.T, dsn, tag string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LASTCALL_TEST_HELPER=hold-db", "LASTCALL_TEST_DSN="+dsn, "PGAPPNAME="+tag)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("hold-db helper said %q, %v; want ready", line, err)
	}
	return cmd
}

// killAndReap kills cmd with SIGKILL and waits for it, as the supervisor
// ends a leftover.
func killAndReap(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// appConn is a connection the test process opens as the app would, and
// the socket inodes it added to this process, so that a Tree func can
// describe it without also describing the monitor's socket.
type appConn struct {
	db     *sql.DB
	conn   *sql.Conn
	inodes []uint64
}

func openApp(t *testing.T, dsn string) *appConn {
	t.Helper()
	before, err := sockview.SocketInodes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	db, conn, err := pgtest.OpenConn(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	after, err := sockview.SocketInodes(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	a := &appConn{db: db, conn: conn}
	for _, inode := range after {
		if !slices.Contains(before, inode) {
			a.inodes = append(a.inodes, inode)
		}
	}
	if len(a.inodes) == 0 {
		t.Fatal("opening the app's connection added no socket to this process")
	}
	return a
}

// close closes the app's connection for good (a *sql.Conn would only go
// back to the pool).
func (a *appConn) close(t *testing.T) {
	t.Helper()
	_ = a.conn.Close()
	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
}

// tree describes this process as the app's tree: only the app's sockets
// that are still open.
func (a *appConn) tree() []sockview.ProcSockets {
	now, err := sockview.SocketInodes(os.Getpid())
	if err != nil {
		return nil
	}
	open := []uint64{}
	for _, inode := range a.inodes {
		if slices.Contains(now, inode) {
			open = append(open, inode)
		}
	}
	return []sockview.ProcSockets{{PID: os.Getpid(), Cmd: "app", Inodes: open}}
}

// waitSample waits until the check's latest sample satisfies ok.
func waitSample(t *testing.T, d *Drain, what string, ok func(drainSample) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.mu.Lock()
		s := d.w.last
		d.mu.Unlock()
		if ok(s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample with %s within 10s; the latest: %+v", what, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newDrain is NewDrain that fails the test on an error, and closes the
// check when the test ends.
func newDrain(t *testing.T, cfg DrainConfig) *Drain {
	t.Helper()
	d, err := NewDrain(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// freezeCluster stops the postmaster and every process it started until
// the test ends.
func freezeCluster(t *testing.T, c *pgtest.Cluster) {
	t.Helper()
	pgtest.Freeze(t, c.PID)
	for _, pid := range childPIDs(t, c.PID) {
		pgtest.Freeze(t, pid)
	}
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	procs, err := procfs.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, p := range procs {
		if p.PPID == pid {
			out = append(out, p.PID)
		}
	}
	if len(out) == 0 {
		t.Fatalf("postmaster %d has no children: freezing it alone proves less", pid)
	}
	return out
}
