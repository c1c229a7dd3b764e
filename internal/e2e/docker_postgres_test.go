package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/testutil"
)

// buildPostgresImage builds a FROM scratch image that holds lastcall
// (copied from the repository's own image, buildLastcallImage) and the
// installed PostgreSQL server: the postgres executable at
// its own path, the shared libraries ldd names for it, its library
// directory with plpgsql alone, its share directory (timezone
// abbreviations), the UTC zone, and passwd and group entries for
// the user postgres. Paths stay those of this machine, so the server finds
// its files where it was built to look. It is removed when t ends.
func buildPostgresImage(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	postgres := filepath.Join(bin, "postgres")
	for _, path := range append([]string{postgres}, sharedLibraries(t, postgres)...) {
		testutil.CopyFile(t, path, filepath.Join(dir, path))
	}
	// The server insists that its library directory exists; plpgsql is
	// the one library a bare cluster may load.
	plpgsql := filepath.Join(filepath.Dir(bin), "lib", "plpgsql.so")
	testutil.CopyFile(t, plpgsql, filepath.Join(dir, plpgsql))
	share := filepath.Join("/usr/share/postgresql", filepath.Base(filepath.Dir(bin)))
	copyTree(t, share, filepath.Join(dir, share))
	for _, zone := range []string{"/usr/share/zoneinfo/UTC", "/usr/share/zoneinfo/Etc/UTC"} {
		testutil.CopyFile(t, zone, filepath.Join(dir, zone))
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skipf("no user postgres to put in the image: %v", err)
	}
	writeFile(t, filepath.Join(dir, "etc/passwd"), fmt.Sprintf("root:x:0:0::/:/nonexistent\npostgres:x:%s:%s::/:/nonexistent\n", u.Uid, u.Gid))
	writeFile(t, filepath.Join(dir, "etc/group"), fmt.Sprintf("root:x:0:\npostgres:x:%s:\n", u.Gid))
	writeFile(t, filepath.Join(dir, "Dockerfile"),
		fmt.Sprintf("FROM scratch\nCOPY --from=%s /lastcall /lastcall\nCOPY . /\nENTRYPOINT [\"/lastcall\"]\n", buildLastcallImage(t)))
	tag := fmt.Sprintf("lastcall-e2e-postgres:%d-%d", os.Getpid(), time.Now().UnixNano())
	docker(t, "build", "-q", "-t", tag, dir)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

// sharedLibraries lists what ldd says exe loads, the dynamic loader
// included, by the paths the loader looks for.
func sharedLibraries(t *testing.T, exe string) []string {
	t.Helper()
	out, err := exec.Command("ldd", exe).Output()
	if err != nil {
		t.Skipf("ldd %s: %v", exe, err)
	}
	var libs []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 3 && f[1] == "=>" && filepath.IsAbs(f[2]):
			libs = append(libs, f[2])
		case len(f) >= 1 && filepath.IsAbs(f[0]):
			libs = append(libs, f[0]) // the loader itself
		}
	}
	return libs
}

// copyTree copies the regular files below src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		testutil.CopyFile(t, path, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDockerStopPostgres runs PostgreSQL under lastcall as PID 1 of a
// scratch container, the cluster in a directory bind-mounted at the same
// path, with an idle client connected through the socket in it, and stops
// it with `docker stop -t 10`. lastcall is root without CAP_SYS_PTRACE
// there (Docker's default): it recognises the postmaster by its name and
// its -D alone. The cluster ends "shut down", the next start (on the host)
// runs no crash recovery, and the container exits 0.
func TestDockerStopPostgres(t *testing.T) {
	requireDocker(t)
	c := stoppedCluster(t)
	image := buildPostgresImage(t, c.bin)
	args := append([]string{"run", "-d", "-v", c.Dir + ":" + c.Dir, image,
		"--user", "postgres", "--log-format", "json", "--", filepath.Join(c.bin, "postgres"), "-D", c.data},
		c.serverOptions("timezone=UTC", "log_timezone=UTC")...)
	id := docker(t, args...)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", id).Run() })
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Logf("the container's log:\n%s", out)
		}
	})
	c.waitAccepting(t)
	db, conn, err := pgtest.OpenConn(c.SocketDSN(pgtest.Superuser, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer func() { _ = conn.Close() }()

	start := time.Now()
	docker(t, "stop", "-t", "10", id)
	elapsed := time.Since(start)
	code := docker(t, "inspect", "-f", "{{.State.ExitCode}}", id)
	logs := dockerLogs(t, id)
	t.Logf("docker stop took %v; the container's log:\n%s", elapsed, logs)
	if code != "0" {
		t.Errorf("exit code %s, want 0", code)
	}
	if elapsed >= 7*time.Second {
		t.Errorf("docker stop took %v: the server waited for its client (smart shutdown) until the deadline", elapsed)
	}
	checkCleanEnd(t, c, parseJSONLines(logs))
}
