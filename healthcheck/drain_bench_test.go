package healthcheck

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lastcall-dev/lastcall/internal/pgconn"
	"github.com/lastcall-dev/lastcall/internal/pgtest"
	"github.com/lastcall-dev/lastcall/internal/sockview"
)

// BenchmarkDrainSample measures one sample of the drain check, as the
// watcher takes it every 100 ms from the stop to the verdict, against a
// real cluster on loopback: the local view of a tree (this process), the
// monitor's query of our 4 tagged sessions (2 idle in a transaction that
// wrote), the transactions tracked, the client ends looked up (after the
// first sample, all known). Besides ns/op it reports lastcall's CPU time
// per sample (user+system of this process, from getrusage) and the
// monitor backend's (from its /proc/PID/stat, in clock ticks: meaningful
// over many samples).
func BenchmarkDrainSample(b *testing.B) {
	c := pgtest.Start(b)
	for _, mode := range []CheckMode{CheckBoth, CheckServer, CheckLocal} {
		b.Run(string(mode), func(b *testing.B) { benchmarkSample(b, c, mode) })
	}
}

func benchmarkSample(b *testing.B, c *pgtest.Cluster, mode CheckMode) {
	tag := pgconn.NewTag()
	ctx := context.Background()
	for i := range 4 {
		db, conn, err := pgtest.OpenConn(pgtest.WithAppName(c.AppURL(), tag))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		if i < 2 {
			for _, stmt := range []string{"CREATE TEMP TABLE work (n int)", "BEGIN", "INSERT INTO work VALUES (1)"} {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	d, err := NewDrain(DrainConfig{DSN: c.AppURL(), Mode: mode, Tag: tag, TagInjected: true, Timeout: time.Hour,
		Tree: func() []sockview.ProcSockets { return selfTree() }})
	if err != nil {
		b.Fatal(err)
	}
	w := &watcher{d: d, deadline: time.Now().Add(time.Hour), ends: newEndFinder(d.eps), idle: map[sessionKey]time.Time{}}
	defer w.closeMonitor()
	if s := w.sample(ctx, false); d.server && (!s.serverOK || len(s.sessions) != 4) {
		b.Fatalf("first sample: %+v; want our 4 sessions", s)
	}
	backend := 0
	if d.server {
		backend = monitorBackend(b, c)
	}
	cpu0, srv0 := selfCPU(), procCPU(b, backend)
	b.ResetTimer()
	for range b.N {
		if s := w.sample(ctx, false); d.server && !s.serverOK {
			b.Fatal(s.serverErr)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((selfCPU()-cpu0).Microseconds())/float64(b.N), "lastcall-cpu-µs/op")
	b.ReportMetric(float64((procCPU(b, backend)-srv0).Microseconds())/float64(b.N), "backend-cpu-µs/op")
}

// monitorBackend is the pid of the monitor's backend.
func monitorBackend(b *testing.B, c *pgtest.Cluster) int {
	db, conn, err := pgtest.OpenConn(c.SocketDSN(pgtest.Superuser, "postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var pid int
	err = conn.QueryRowContext(context.Background(), "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
		pgconn.MonitorAppName).Scan(&pid)
	if err != nil {
		b.Fatal(err)
	}
	return pid
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is pid's user+system time from /proc/PID/stat (fields 14 and
// 15, in clock ticks of 10 ms).
func procCPU(b *testing.B, pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// selfTree is this process as the tree, with all its sockets.
func selfTree() []sockview.ProcSockets {
	inodes, _ := sockview.SocketInodes(os.Getpid())
	return []sockview.ProcSockets{{PID: os.Getpid(), Cmd: "bench", Inodes: inodes}}
}
