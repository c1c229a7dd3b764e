package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/procfs"
)

// pgCluster is a throwaway cluster that lastcall starts: pgtest made it,
// and it is stopped again (cleanly) before lastcall runs it.
type pgCluster struct {
	*pgtest.Cluster
	data string
	bin  string
}

// stoppedCluster makes a cluster and shuts it down cleanly, so that a
// test can start it under lastcall. Whatever server runs in its data
// directory when t ends is stopped (immediate).
func stoppedCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{Cluster: pgtest.Start(t), bin: pgtest.BinDir(t)}
	c.data = filepath.Join(c.Dir, "data")
	c.pg(t, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.data)
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(c.data, "postmaster.pid")); err == nil {
			_ = c.command("pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.data).Run()
		}
	})
	return c
}

// command is one of the server's programs, run as the cluster's owner in
// the C locale and UTC.
func (c *pgCluster) command(program string, args ...string) *exec.Cmd {
	owner, _ := pgtest.ClusterOwner()
	cmd := exec.Command(filepath.Join(c.bin, program), args...)
	cmd.Env = append(baseEnv(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = owner.SysProcAttr(syscall.SIGQUIT)
	return cmd
}

// pg runs one of the server's programs and returns its output; it fails
// t when the program fails or takes more than two minutes.
func (c *pgCluster) pg(t *testing.T, program string, args ...string) string {
	t.Helper()
	cmd := c.command(program, args...)
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", program, args, err, out)
	}
	return string(out)
}

// serverOptions are the settings of every start of the cluster: the unix
// socket only, in the cluster's directory.
func (c *pgCluster) serverOptions(extra ...string) []string {
	opts := []string{"-c", "listen_addresses=", "-c", "port=" + strconv.Itoa(c.Port),
		"-c", "unix_socket_directories=" + c.SocketDir, "-c", "logging_collector=off"}
	for _, e := range extra {
		opts = append(opts, "-c", e)
	}
	return opts
}

// state is pg_controldata's "Database cluster state".
func (c *pgCluster) state(t *testing.T) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(c.pg(t, "pg_controldata", "-D", c.data)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Database cluster state:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("pg_controldata printed no cluster state")
	return ""
}

// nextStart starts the cluster once more with pg_ctl, stops it (fast) and
// returns the server's log of that start: the first lines say whether it
// ran crash recovery.
func (c *pgCluster) nextStart(t *testing.T) string {
	t.Helper()
	log := filepath.Join(c.Dir, fmt.Sprintf("next-start-%d.log", time.Now().UnixNano()))
	c.pg(t, "pg_ctl", "start", "-w", "-D", c.data, "-l", log, "-o", strings.Join(quoteAll(c.serverOptions()), " "))
	c.pg(t, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.data)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// quoteAll quotes each argument for the shell (pg_ctl -o passes its text to
// /bin/sh).
func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

// waitAccepting waits until the server accepts the superuser over the unix
// socket.
func (c *pgCluster) waitAccepting(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, conn, err := pgtest.OpenConn(c.SocketDSN(pgtest.Superuser, "postgres"))
		if err == nil {
			_ = conn.Close()
			_ = db.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not accept connections within 60s: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// postmasterPID waits for the data directory's postmaster.pid to say the
// server is ready, and returns the pid it names (a pid of the test's view
// only when lastcall is not PID 1 of its own namespace).
func (c *pgCluster) postmasterPID(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
		lines := strings.Split(string(b), "\n")
		if len(lines) > 7 && strings.TrimSpace(lines[7]) == "ready" {
			pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
			if err != nil {
				t.Fatalf("postmaster.pid: %q", b)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("postmaster.pid never said ready: %q", b)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not synchronisation
	}
}

// pgRun is the lastcall binary running a PostgreSQL server, as PID 1 of a
// new PID namespace (under unshare) or as a subreaper.
type pgRun struct {
	cmd    *exec.Cmd
	pid1   bool
	stdin  *os.File // the write end of lastcall's stdin
	stderr *os.File // lastcall's log and the server's
	exited chan struct{}
}

// startPGRun starts lastcall with args (flags, --, command) as root, with
// the child as the cluster's owner. Everything it started is killed when t
// ends.
func startPGRun(t *testing.T, pid1 bool, args ...string) *pgRun {
	t.Helper()
	argv := []string{lastcallBinary(t)}
	if pid1 {
		argv = append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"}, argv...)
	}
	if os.Geteuid() == 0 {
		argv = append(argv, "--user", "postgres")
	}
	argv = append(argv, args...)
	stderr, err := os.CreateTemp(t.TempDir(), "lastcall.stderr")
	if err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(baseEnv(), "LC_ALL=C", "TZ=UTC")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &pgRun{cmd: cmd, pid1: pid1, stdin: inW, stderr: stderr, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lastcall's output when the test failed:\n%s", r.log(t))
		}
		procs, _ := procfs.List()
		for _, p := range procfs.DescendantsOf(cmd.Process.Pid, procs) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
		_ = cmd.Process.Kill()
		<-r.exited
		_ = inW.Close()
		_ = stderr.Close()
	})
	return r
}

// lastcallPID is lastcall's pid in the test's view: the child of unshare
// in pid1 mode.
func (r *pgRun) lastcallPID(t *testing.T) int {
	t.Helper()
	if !r.pid1 {
		return r.cmd.Process.Pid
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if pid, err := childNamed(r.cmd.Process.Pid, "lastcall"); err == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare started no lastcall")
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not synchronisation
	}
}

// wait waits for lastcall to exit, at most limit, and returns its exit
// code and its log lines.
func (r *pgRun) wait(t *testing.T, limit time.Duration) (int, []map[string]any) {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(limit):
		t.Fatalf("lastcall still running after %v:\n%s", limit, r.log(t))
	}
	return r.cmd.ProcessState.ExitCode(), parseJSONLines(r.log(t))
}

// log is what lastcall and the server wrote to stderr so far.
func (r *pgRun) log(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(r.stderr.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postgresLine is lastcall's one line about how the server ended; it fails
// t unless there is exactly one.
func postgresLine(t *testing.T, logs []map[string]any) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, l := range logs {
		if l["step"] == "postgres" && l["postgres_state"] != nil {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines with postgres_state, want 1: %v", len(found), found)
	}
	return found[0]
}

// withTimeout is a context for one database call of a test.
func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
