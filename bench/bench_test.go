package main

import (
	"math"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name   string
		sorted []float64
		q      float64
		want   float64
	}{
		{"one sample", []float64{7}, 0.99, 7},
		{"median of odd", []float64{1, 2, 9}, 0.5, 2},
		{"median of even interpolates", []float64{1, 2, 4, 9}, 0.5, 3},
		{"p99 of 101 is the 100th", seq(101), 0.99, 99},
		{"p99 of 3 interpolates near the top", []float64{0, 10, 20}, 0.99, 19.8},
	}
	for _, tt := range tests {
		if got := quantile(tt.sorted, tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("%s: quantile(%v, %v) = %v, want %v", tt.name, tt.sorted, tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("quantile(nil) = %v, want NaN", got)
	}
}

func seq(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i)
	}
	return s
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as a process may set it.
	line := "4242 (a (b) c) Z 17 4242 4242 0 -1 4194560 101 0 0 0 12 34 0 0 20 0 1 0 5678 1234 56\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := statInfo{state: 'Z', ppid: 17, utime: 12, stime: 34}
	if got != want {
		t.Errorf("parseStat = %+v, want %+v", got, want)
	}
	if _, err := parseStat([]byte("4242 (x) S 1")); err == nil {
		t.Error("parseStat of a short line: no error")
	}
}

const statusSample = `Name:	lastcall
State:	S (sleeping)
Threads:	7
VmHWM:	    5200 kB
VmRSS:	    5100 kB
voluntary_ctxt_switches:	12
nonvoluntary_ctxt_switches:	3
`

func TestParseStatus(t *testing.T) {
	got := parseStatus([]byte(statusSample))
	want := statusInfo{ctxSwitches: 15, vmRSS: 5100 << 10, vmHWM: 5200 << 10, threads: 7}
	if got != want {
		t.Errorf("parseStatus = %+v, want %+v", got, want)
	}
}

func TestParsePids(t *testing.T) {
	got := parsePids([]byte("12 345 6789 \n"), nil)
	if len(got) != 3 || got[0] != 12 || got[1] != 345 || got[2] != 6789 {
		t.Errorf("parsePids = %v", got)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    float64
		u    unit
		want string
	}{
		{850, unitTime, "850 ns"},
		{81_500, unitTime, "81.5 µs"},
		{7_500_000, unitTime, "7.50 ms"},
		{2.5 * (1 << 20), unitBytes, "2.50 MiB"},
		{28 << 10, unitBytes, "28 KiB"},
		{3, unitCount, "3"},
		{math.NaN(), unitCount, "-"},
	}
	for _, tt := range tests {
		if got := formatValue(tt.v, tt.u); got != tt.want {
			t.Errorf("formatValue(%v, %v) = %q, want %q", tt.v, tt.u, got, tt.want)
		}
	}
}

func TestTargetsUseTheBestCPeer(t *testing.T) {
	m := newMetric("forward", "forward SIGUSR1 to the child", unitTime)
	for _, v := range []float64{100, 110, 120} {
		m.add(nameLastcall, v)
		m.add(nameTini, v/2)     // best C peer: lastcall is 2x
		m.add(nameDumbInit, v*2) // not the best
	}
	tb := &table{metrics: []*metric{m}, cPeers: []string{nameTini, nameDumbInit}, floor: nameGoFloor, candidate: nameLastcall}
	verdict, ok, measured := vsBestC("forward", 1.5, false)(tb)
	if !measured || ok || !strings.HasPrefix(verdict, "2.00x") || !strings.Contains(verdict, nameTini) {
		t.Errorf("vsBestC = %q, ok %v, measured %v; want 2.00x against tini, not met", verdict, ok, measured)
	}
}

func BenchmarkParseStatus(b *testing.B) {
	in := []byte(statusSample)
	for b.Loop() {
		parseStatus(in)
	}
}

func BenchmarkSummarize(b *testing.B) {
	s := seq(1000)
	for b.Loop() {
		summarize(s)
	}
}

// TestSmoke runs every metric with tiny counts against the real wrappers.
// It takes about 20 seconds and needs root (or user namespaces), unshare and
// the Debian packages tini, dumb-init and catatonit, so it runs only when
// LASTCALL_BENCH_SMOKE=1.
func TestSmoke(t *testing.T) {
	if os.Getenv("LASTCALL_BENCH_SMOKE") != "1" {
		t.Skip("set LASTCALL_BENCH_SMOKE=1 to run the bench once with tiny counts")
	}
	o, err := parseFlags([]string{"-quick", "-start-rounds", "3", "-shutdown-rounds", "3", "-forward-rounds", "5",
		"-idle", "1s", "-orphans", "200", "-zombies", "200", "-storm", "2000", "-escalation-rounds", "2"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	tb, err := run(o, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.metrics) != len(allMetrics)+6 { // idle has 5 rows, reap 2, storm 2
		t.Errorf("%d metrics measured, want %d", len(tb.metrics), len(allMetrics)+6)
	}
	for _, m := range tb.metrics {
		if len(m.samples[nameLastcall]) == 0 {
			t.Errorf("%s: no sample for lastcall", m.title)
		}
		for _, n := range m.notes {
			t.Errorf("%s: %s", m.title, n)
		}
	}
}
