package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// Owner is who owns and runs the cluster (and, in tests, other database
// servers such as PgBouncer): the OS user postgres when the test runs as
// root (initdb and pgbouncer refuse root), else the test's own user.
type Owner struct {
	uid, gid uint32
	switched bool
}

// ClusterOwner is the Owner for this test process.
func ClusterOwner() (Owner, error) {
	if os.Geteuid() != 0 {
		return Owner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return Owner{}, fmt.Errorf("running as root, and initdb refuses root, but there is no OS user postgres: %v", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return Owner{}, fmt.Errorf("OS user postgres: %v", err)
	}
	return Owner{uid: uint32(uid), gid: uint32(gid), switched: true}, nil
}

// TempDir makes a directory named after prefix that u owns, for a server
// that runs as u, and removes it when t ends.
func (u Owner) TempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := u.Chown(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Chown gives path to u, when u is not the test's own user.
func (u Owner) Chown(path string) error {
	if !u.switched {
		return nil
	}
	return os.Chown(path, int(u.uid), int(u.gid))
}

// SysProcAttr runs a command as u, in its own process group, and has the
// kernel send it onDeath if the test process dies (SIGQUIT: postgres's
// immediate shutdown).
func (u Owner) SysProcAttr(onDeath syscall.Signal) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: onDeath}
	if u.switched {
		attr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}
	}
	return attr
}

// start runs postgres until it accepts connections, on a free loopback
// port; it tries another port when the one it picked was taken meanwhile.
func (c *Cluster) start(t testing.TB, bin string, owner Owner) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		c.Port = port
		err = c.startOn(t, bin, owner)
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatalf("pgtest: start postgres: %v\n%s", err, c.Log())
		}
	}
}

var errPortTaken = errors.New("port taken")

func (c *Cluster) startOn(t testing.TB, bin string, owner Owner) error {
	t.Helper()
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(c.Dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(c.Port),
		"-c", "unix_socket_directories="+c.SocketDir, "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=40",
		"-c", "shared_buffers=16MB", "-c", "logging_collector=off", "-c", "ssl=off")
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = owner.SysProcAttr(syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	if err := c.waitReady(exited); err != nil {
		stop(cmd.Process, exited)
		if strings.Contains(c.Log(), "could not bind") {
			return fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return err
	}
	c.PID = cmd.Process.Pid
	t.Cleanup(func() { c.stop(t, cmd.Process, exited) })
	return nil
}

// waitReady polls a connection over the unix socket until the server
// answers, exits, or startTimeout passes.
func (c *Cluster) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = c.ping(); lastErr == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during start (last connect error: %v)", lastErr)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %s: %v", startTimeout, lastErr)
		}
	}
}

func (c *Cluster) ping() error {
	db, err := sql.Open("postgres", c.SocketDSN(Superuser, "postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}

// stop shuts the server down at once (SIGQUIT, what `pg_ctl stop -m
// immediate` sends), waits for it, and checks that none of its processes
// survived.
func (c *Cluster) stop(t testing.TB, p *os.Process, exited <-chan struct{}) {
	children := childrenOf(p.Pid)
	stop(p, exited)
	for _, child := range children {
		if child.alive() {
			_ = syscall.Kill(child.pid, syscall.SIGKILL)
			t.Errorf("pgtest: postgres process %d survived the server's stop; killed it", child.pid)
		}
	}
}

// stop sends SIGQUIT, then SIGKILL after 10s, and waits for exited.
func stop(p *os.Process, exited <-chan struct{}) {
	_ = p.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
		return
	case <-time.After(10 * time.Second):
	}
	_ = p.Kill()
	<-exited
}

// proc is a process identified by pid and start time, so that a recycled
// pid is not mistaken for it.
type proc struct {
	pid   int
	start string
}

func (p proc) alive() bool {
	_, start, ok := readStat(p.pid)
	return ok && start == p.start
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, start, ok := readStat(child); ok && ppid == pid {
			out = append(out, proc{pid: child, start: start})
		}
	}
	return out
}

// readStat reads a live process's parent pid and start time from
// /proc/PID/stat; ok is false for a process that is gone or a zombie.
func readStat(pid int) (ppid int, start string, ok bool) {
	st, err := procfs.ReadStat(pid)
	if err != nil || st.State == 'Z' || st.State == 'X' { // dead, waiting to be reaped
		return 0, "", false
	}
	return st.PPID, strconv.FormatUint(st.Start, 10), true
}

// FreePort is a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
