package pgserver

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lastcall-dev/lastcall/internal/pgtest"
)

// A running cluster is "in production"; after pg_ctl stop -m fast it is
// "shut down", and ReadControl says what pg_controldata says, both times.
func TestFastStopShutsDown(t *testing.T) {
	c := pgtest.Start(t)
	data := filepath.Join(c.Dir, "data")
	running, err := ReadControl(data)
	if err != nil || running.State != StateInProduction || running.Clean() {
		t.Errorf("running: ReadControl = %+v, %v; want in production, not clean", running, err)
	}
	agreesWithControldata(t, data, running)

	pgCommand(t, "pg_ctl", "stop", "-m", "fast", "-D", data)
	stopped, err := ReadControl(data)
	if err != nil || stopped.State != StateShutDown || !stopped.Clean() || stopped.Version != 1300 {
		t.Errorf("after a fast stop: ReadControl = %+v, %v; want version 1300, shut down, clean", stopped, err)
	}
	agreesWithControldata(t, data, stopped)
}

// A postmaster killed with SIGKILL writes nothing more: pg_control still
// says "in production" once every process of the server is gone.
func TestKilledStaysInProduction(t *testing.T) {
	c := pgtest.Start(t)
	data := filepath.Join(c.Dir, "data")
	tree := treeOf(t, c.PID)
	if err := syscall.Kill(c.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range tree {
		waitExited(t, pid)
	}
	got, err := ReadControl(data)
	if err != nil || got.State != StateInProduction || got.Clean() {
		t.Errorf("after SIGKILL: ReadControl = %+v, %v; want in production, not clean", got, err)
	}
	agreesWithControldata(t, data, got)
}

// The CRC of a real pg_control is where the 1300 layout says, and nowhere
// else; a changed byte or a cut file is refused, as pg_controldata warns.
func TestRealControlFile(t *testing.T) {
	c := pgtest.Start(t)
	data := filepath.Join(c.Dir, "data")
	pgCommand(t, "pg_ctl", "stop", "-m", "fast", "-D", data)
	b, err := os.ReadFile(ControlPath(data))
	if err != nil {
		t.Fatal(err)
	}
	var crcAt []int
	for n := headerSize; n+4 <= len(b); n += 4 {
		if crc32.Checksum(b[:n], castagnoli) == binary.NativeEndian.Uint32(b[n:]) {
			crcAt = append(crcAt, n)
		}
	}
	if len(crcAt) != 1 || crcAt[0] != layouts[1300].crc || len(b) != controlFileSize {
		t.Errorf("a real pg_control of %d bytes has a matching CRC-32C at %v; want only at %d, in 8192 bytes", len(b), crcAt, layouts[1300].crc)
	}

	corrupt := filepath.Join(c.Dir, "corrupt")
	writeControl(t, corrupt, with(append([]byte(nil), b...), func(b []byte) { b[layouts[1300].checkpointTime] ^= 1 }))
	if _, err := ReadControl(corrupt); !errors.Is(err, ErrBadCRC) {
		t.Errorf("a byte of the checkpoint time changed: ReadControl error %v; want ErrBadCRC", err)
	}
	if out := pgCommand(t, "pg_controldata", "-D", corrupt); !strings.Contains(out, "Calculated CRC checksum does not match") {
		t.Errorf("pg_controldata took the changed file for sound, so the test changed nothing it checks:\n%s", out)
	}
	short := filepath.Join(c.Dir, "short")
	writeControl(t, short, b[:200])
	if _, err := ReadControl(short); !errors.Is(err, ErrShortControl) {
		t.Errorf("200 bytes: ReadControl error %v; want ErrShortControl", err)
	}
}

// writeControl makes dataDir/global/pg_control with b, readable by the
// cluster's owner too (for pg_controldata).
func writeControl(t *testing.T, dataDir string, b []byte) {
	t.Helper()
	owner, err := pgtest.ClusterOwner()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{dataDir, filepath.Join(dataDir, "global")} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := owner.Chown(dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(ControlPath(dataDir), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := owner.Chown(ControlPath(dataDir)); err != nil {
		t.Fatal(err)
	}
}

// Among all the processes of a server started as "postgres -D DIR", only
// the postmaster is found, with its data directory.
func TestFindPostmasterStartedDirectly(t *testing.T) {
	c := pgtest.Start(t)
	wantOnlyPostmaster(t, c.PID, filepath.Join(c.Dir, "data"))
}

// The same for a server started with pg_ctl start, whose parent (pg_ctl)
// is gone by the time it is looked at; and a fast stop of it leaves "shut
// down".
func TestFindPostmasterStartedByPgCtl(t *testing.T) {
	c := pgtest.Start(t)
	data := filepath.Join(c.Dir, "data")
	pgCommand(t, "pg_ctl", "stop", "-m", "fast", "-D", data)
	pid := pgCtlStart(t, c)
	wantOnlyPostmaster(t, pid, data)

	pgCommand(t, "pg_ctl", "stop", "-m", "fast", "-D", data)
	waitExited(t, pid)
	if got, err := ReadControl(data); err != nil || !got.Clean() {
		t.Errorf("after pg_ctl start, then stop -m fast: ReadControl = %+v, %v; want shut down", got, err)
	}
}

// wantOnlyPostmaster checks that of pid's tree (pid and its backends,
// checkpointer, WAL writer...), and this test process, Postmasters finds
// pid alone, with dataDir from its command line.
func wantOnlyPostmaster(t *testing.T, pid int, dataDir string) {
	t.Helper()
	tree := treeOf(t, pid)
	if len(tree) < 4 {
		t.Fatalf("postmaster %d has %d processes in its tree (%v); want it and at least 3 children", pid, len(tree), tree)
	}
	found, err := Postmasters(append(tree, os.Getpid()))
	want := Postmaster{PID: pid, DataDir: dataDir, Source: SourceArgs}
	if len(found) != 1 || found[0] != want || err != nil {
		t.Errorf("Postmasters(%v) = %+v, %v; want only %+v", tree, found, err, want)
	}
}
