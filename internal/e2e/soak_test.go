package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// soakCycle is one start and stop of lastcall, drawn at random.
type soakCycle struct {
	n        int
	pid1     bool   // PID 1 of a new PID namespace; else a subreaper
	behavior string // for the failure message
	end      string // app behave END: exit:N, term, ignore-term
	leftover string // app behave LEFTOVER
	label    string // the word before the leftover's pid on the app's stdout
	signals  []syscall.Signal
	grace    string // --grace
	lgrace   string // --leftover-grace
	want     leftoverCleanup
}

// soakSignals are signals lastcall forwards and the app traps.
var soakSignals = []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGHUP, syscall.SIGWINCH}

// planCycle draws cycle n from its own generator, so that a seed replays
// every cycle whatever the order the workers take them in. One cycle in
// five runs lastcall as a subreaper, where a leftover would be visible
// from the host. A wait that the behaviour does not run into is 5s, a
// failure bound; one it does run into is short.
func planCycle(seed uint64, n int) soakCycle {
	rng := rand.New(rand.NewPCG(seed, uint64(n)))
	c := soakCycle{n: n, pid1: n%5 != 4, leftover: "none", grace: "5s", lgrace: "5s"}
	for range rng.IntN(4) {
		c.signals = append(c.signals, soakSignals[rng.IntN(len(soakSignals))])
	}
	code := rng.IntN(256)
	// Leftovers come with a child that exits by itself or on SIGTERM;
	// either way lastcall, not the escalation, meets the leftover.
	ends := []struct {
		end  string
		code int
	}{{"exit:" + strconv.Itoa(code), code}, {"term", 0}}
	end := ends[rng.IntN(len(ends))]
	switch rng.IntN(6) {
	case 0:
		c.behavior, c.end, c.want.exitCode = "exits by itself", ends[0].end, ends[0].code
	case 1:
		c.behavior, c.end, c.want.exitCode = "exits 0 on SIGTERM", "term", 0
	case 2:
		c.behavior, c.end, c.want.exitCode, c.grace = "ignores SIGTERM", "ignore-term", 137, "100ms"
	case 3:
		c.behavior, c.end, c.want.exitCode, c.leftover, c.label = "leaves a child that takes SIGTERM", end.end, end.code, "child-term", "leftover"
	case 4:
		c.behavior, c.end, c.want.exitCode, c.leftover, c.label = "leaves a child that ignores SIGTERM", end.end, end.code, "child-ignore", "leftover"
	case 5:
		c.behavior, c.end, c.want.exitCode, c.label = "double-forks a daemon", end.end, end.code, "daemon"
		c.leftover = []string{"daemon-term", "daemon-ignore"}[rng.IntN(2)]
	}
	if c.leftover != "none" {
		c.want.terminated, c.want.gone = 1, 1
	}
	if strings.HasSuffix(c.leftover, "-ignore") {
		c.want.killed, c.lgrace = 1, "100ms"
	}
	return c
}

func (c soakCycle) String() string {
	mode := "pid1"
	if !c.pid1 {
		mode = "subreaper"
	}
	var sigs []string
	for _, sig := range c.signals {
		sigs = append(sigs, unix.SignalName(sig))
	}
	return fmt.Sprintf("cycle %d (%s, %s: behave %s %s, signals %v, --grace %s --leftover-grace %s)",
		c.n, mode, c.behavior, c.end, c.leftover, sigs, c.grace, c.lgrace)
}

// cycleResult is what one cycle measured.
type cycleResult struct {
	rss        int // lastcall's VmRSS in KiB once the app was ready
	terminated int // leftovers lastcall's log says it terminated
	killed     int // of those, killed after --leftover-grace
}

// runCycle runs cycle c: lastcall starts the app (named uniquely, see
// linkApp, so that every process of the cycle can be found by name), the
// test samples lastcall's RSS, sends the cycle's signals one at a time and
// waits for the app to report each, then ends the run as c says, and
// checks the exit code, the log of the cleanup and that nothing of the
// cycle is left. Every wait has a deadline.
func runCycle(dir, lastcall, appPath string, c soakCycle) (cycleResult, error) {
	app, comm, err := linkApp(appPath, dir, "sk")
	if err != nil {
		return cycleResult{}, err
	}
	defer func() { _ = os.Remove(app) }()
	r, err := startSupervised(dir, lastcall, app, comm, c.pid1, []string{"--log-format", "json", "--log-level", "debug",
		"--grace", c.grace, "--leftover-grace", c.lgrace}, c.end, c.leftover)
	if err != nil {
		return cycleResult{}, err
	}
	defer r.close()
	var res cycleResult
	if c.label != "" {
		if _, err := r.pidLine(c.label); err != nil {
			return res, err
		}
	}
	if err := r.expect("ready"); err != nil {
		return res, err
	}
	lastcallPid, err := r.lastcallPid()
	if err != nil {
		return res, err
	}
	if res.rss, err = vmRSS(lastcallPid); err != nil {
		return res, err
	}
	for _, sig := range c.signals {
		if err := syscall.Kill(lastcallPid, sig); err != nil {
			return res, fmt.Errorf("%v to lastcall: %w", sig, err)
		}
		if err := r.expect("got " + unix.SignalName(sig)); err != nil {
			return res, err
		}
	}
	if err := stopCycle(r, c, lastcallPid); err != nil {
		return res, err
	}
	code, err := r.wait(20 * time.Second)
	if err != nil {
		return res, err
	}
	if left := procsNamed(comm); len(left) > 0 {
		return res, fmt.Errorf("processes of the cycle outlived lastcall: %+v", left)
	}
	if _, err := r.eof(5 * time.Second); err != nil {
		return res, err
	}
	got := cleanupLogged(parseJSONLines(r.stderr.String()))
	if code != c.want.exitCode || got != c.want {
		return res, fmt.Errorf("exit code %d, log %+v; want %d, %+v; stderr:\n%s", code, got, c.want.exitCode, c.want, r.stderr)
	}
	res.terminated, res.killed = got.terminated, got.killed
	return res, nil
}

// stopCycle ends the run: an app whose END is exit:N exits when its stdin
// ends, any other gets SIGTERM through lastcall.
func stopCycle(r *supervisedApp, c soakCycle, lastcallPid int) error {
	if strings.HasPrefix(c.end, "exit:") {
		return r.stdin.Close()
	}
	return syscall.Kill(lastcallPid, syscall.SIGTERM)
}

// envCount reads a positive number from the environment variable name,
// or returns def when it is unset.
func envCount(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

// TestSoak starts and stops the real lastcall binary 1,000 times
// (LASTCALL_SOAK_CYCLES), two at a time, with child behaviours and
// signals drawn from a logged seed (LASTCALL_SOAK_SEED replays a run).
// Every cycle must end with exactly the exit code its behaviour implies,
// lastcall's log must show that it terminated the leftovers itself (not the
// end of the PID namespace), no process of the cycle may outlive lastcall,
// and lastcall's RSS at start must not drift from the first cycles to the
// last.
func TestSoak(t *testing.T) {
	requireUnshare(t)
	seed := envCount(t, "LASTCALL_SOAK_SEED", uint64(time.Now().UnixNano()))
	cycles := int(envCount(t, "LASTCALL_SOAK_CYCLES", 1000))
	t.Logf("seed %d (LASTCALL_SOAK_SEED=%d replays it), %d cycles (LASTCALL_SOAK_CYCLES)", seed, seed, cycles)
	lastcall, app, dir := lastcallBinary(t), appBinary(t), t.TempDir()

	results := make([]cycleResult, cycles)
	var mu sync.Mutex
	var failures []error
	jobs := make(chan soakCycle)
	var wg sync.WaitGroup
	began := time.Now()
	for range 2 {
		wg.Go(func() {
			for c := range jobs {
				res, err := runCycle(dir, lastcall, app, c)
				results[c.n] = res
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("%v: %w", c, err))
					mu.Unlock()
				}
			}
		})
	}
	signalsSent, subreaper := 0, 0
	for n := range cycles {
		mu.Lock()
		stop := len(failures) >= 3 // enough to go on; the rest would say the same
		mu.Unlock()
		if stop {
			break
		}
		c := planCycle(seed, n)
		signalsSent += len(c.signals)
		if !c.pid1 {
			subreaper++
		}
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	took := time.Since(began)
	for _, err := range failures {
		t.Error(err)
	}
	if len(failures) > 0 {
		t.Fatalf("seed %d: %d cycles failed", seed, len(failures))
	}

	terminated, killed := 0, 0
	rss := make([]int, cycles)
	for i, res := range results {
		terminated, killed, rss[i] = terminated+res.terminated, killed+res.killed, res.rss
	}
	t.Logf("%d cycles (%d as a subreaper) in %v, 2 at a time: %d leftovers terminated by lastcall (%d killed after --leftover-grace), %d signals forwarded",
		cycles, subreaper, took.Round(time.Millisecond), terminated, killed, signalsSent)
	checkFlatRSS(t, rss)
}

// checkFlatRSS wants the median of the last 100 RSS samples (KiB) not
// above the median of the first 100 by more than 10% and 256 KiB. Each
// sample is a new lastcall process at the same point of its life, so
// lastcall's own work gives the same figure every time: what moves it is
// page-level noise (which runtime pages happen to be touched by then,
// GC timing), which the medians absorb and a few hundred KiB cover. A
// footprint that grows with the runs before it (state lastcall keeps or
// reads from the system that accumulates) shows as a step between the
// two medians.
func checkFlatRSS(t *testing.T, rss []int) {
	t.Helper()
	k := min(100, len(rss)/2)
	if k == 0 {
		t.Logf("RSS not compared: %d cycles", len(rss))
		return
	}
	first, last := median(rss[:k]), median(rss[len(rss)-k:])
	t.Logf("lastcall's VmRSS once the app was ready: median %d KiB over the first %d cycles, %d KiB over the last %d",
		first, k, last, k)
	if limit := first + first/10 + 256; last > limit {
		t.Errorf("lastcall's RSS grew: median %d KiB over the last %d cycles, over %d KiB (first %d: %d KiB + 10%% + 256 KiB)",
			last, k, limit, k, first)
	}
}

func median(xs []int) int {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
