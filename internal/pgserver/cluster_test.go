package pgserver

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
)

// pgCommand runs one of PostgreSQL's programs as the cluster's owner and
// returns its output; it fails t when the program fails.
func pgCommand(t *testing.T, program string, args ...string) string {
	t.Helper()
	owner, err := pgtest.ClusterOwner()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pgtest.BinDir(t), program), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.SysProcAttr = owner.SysProcAttr(syscall.SIGQUIT)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", program, args, err, out)
	}
	return string(out)
}

// controldata is pg_controldata's report on dataDir, by field name.
func controldata(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	fields := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(pgCommand(t, "pg_controldata", "-D", dataDir)))
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		fields[name] = strings.TrimSpace(value)
	}
	return fields
}

// controldataView is what pg_controldata prints for the fields of c, in
// its C locale and UTC.
func controldataView(c Control) map[string]string {
	return map[string]string{
		"pg_control version number": strconv.FormatUint(uint64(c.Version), 10),
		"Catalog version number":    strconv.FormatUint(uint64(c.CatalogVersion), 10),
		"Database cluster state":    c.State.String(),
		"pg_control last modified":  c.Modified.UTC().Format(time.ANSIC),
		"Time of latest checkpoint": c.Checkpoint.UTC().Format(time.ANSIC),
	}
}

// agreesWithControldata fails t where ReadControl and pg_controldata
// differ about dataDir.
func agreesWithControldata(t *testing.T, dataDir string, c Control) {
	t.Helper()
	theirs := controldata(t, dataDir)
	for name, ours := range controldataView(c) {
		if theirs[name] != ours {
			t.Errorf("%s: ReadControl says %q, pg_controldata %q", name, ours, theirs[name])
		}
	}
}

// treeOf lists pid and every process below it, from /proc.
func treeOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	children := make(map[int][]int)
	for _, e := range entries {
		if p, err := strconv.Atoi(e.Name()); err == nil {
			if st, err := readStat(p); err == nil {
				children[st.PPID] = append(children[st.PPID], p)
			}
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// pidFilePID is the first line of dataDir/postmaster.pid.
func pidFilePID(t *testing.T, dataDir string) int {
	t.Helper()
	pid, err := pidFileOwner(dataDir)
	if err != nil || pid <= 0 {
		t.Fatalf("postmaster.pid in %s: %d, %v", dataDir, pid, err)
	}
	return pid
}

// pgCtlStart starts the stopped cluster of c again with pg_ctl, as an
// all-in-one entrypoint does, and returns the postmaster's pid. The server
// listens on its unix socket only; it is stopped (immediate) when t ends,
// if it still runs (its postmaster.pid is there: the process itself may
// stay a zombie, for want of a reaping PID 1).
func pgCtlStart(t *testing.T, c *pgtest.Cluster) int {
	t.Helper()
	data := filepath.Join(c.Dir, "data")
	pgCommand(t, "pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(c.Dir, "pg_ctl.log"),
		"-o", fmt.Sprintf("-c listen_addresses='' -c port=%d -c unix_socket_directories=%s", c.Port, c.SocketDir))
	pid := pidFilePID(t, data)
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(data, "postmaster.pid")); err == nil {
			pgCommand(t, "pg_ctl", "stop", "-m", "immediate", "-D", data)
		}
		waitExited(t, pid)
	})
	return pid
}
