package main

import (
	"fmt"
	"io"
	"math"
)

// target is one of the goals for lastcall, checked against the
// table. The bench reports; it never loosens a goal to pass.
type target struct {
	title string
	check func(t *table) (verdict string, ok bool, measured bool)
}

// The targets, on medians unless said.
var targets = []target{
	{"start+exit <= 1.0x Go floor", vsFloor("start", 1.0)},
	{"start+exit as PID 1 <= 1.0x Go floor", vsFloor("start-pidns", 1.0)},
	{"shutdown <= 1.1x best C peer", vsBestC("shutdown", 1.1, false)},
	{"shutdown p99 <= 1.5x best C peer's p99", vsBestC("shutdown", 1.5, true)},
	{"forwarding <= 1.5x best C peer", vsBestC("forward", 1.5, false)},
	{"storm CPU <= 1.5x best C peer", vsBestC("storm-cpu", 1.5, false)},
	{"storm: survived every round", absoluteMin("storm-survived", 1)},
	{"reaping: peak zombies <= 10", absolute("reap-peak", 10, false)},
	{"burst reap <= 1.2x best C peer", vsBestC("burst", 1.2, false)},
	{"idle: zero context switches", absolute("idle-ctxsw", 0, true)},
	{"idle: zero CPU ticks", absolute("idle-ticks", 0, true)},
	{"VmRSS <= 3 MiB idle", absolute("idle-rss", 3<<20, true)},
	{"release binary <= 6 MiB", absolute("size", 6<<20, false)},
	{"SIGKILL <= 5 ms after the deadline", absolute("escalation", 5e6, false)},
	{"Postgres check adds <= 15 ms to a shutdown", func(*table) (string, bool, bool) {
		return "measured by a Go benchmark with a throwaway PostgreSQL: LASTCALL_REQUIRE_PG=1 go test -run '^$' -bench DrainShutdown ./internal/e2e", false, false
	}},
}

func (t *table) find(key string) *metric {
	for _, m := range t.metrics {
		if m.key == key {
			return m
		}
	}
	return nil
}

// lastcall returns the metric under key and lastcall's samples in it.
func (t *table) lastcall(key string) (*metric, []float64, bool) {
	m := t.find(key)
	if m == nil || len(m.samples[t.candidate]) == 0 {
		return nil, nil, false
	}
	return m, m.samples[t.candidate], true
}

func vsFloor(key string, limit float64) func(*table) (string, bool, bool) {
	return func(t *table) (string, bool, bool) {
		m, s, ok := t.lastcall(key)
		if !ok || len(m.samples[t.floor]) == 0 {
			return "not measured", false, false
		}
		lc, fl := summarize(s).median, summarize(m.samples[t.floor]).median
		r := lc / fl
		return fmt.Sprintf("%.2fx (%s vs %s)", r, formatValue(lc, m.unit), formatValue(fl, m.unit)), r <= limit, true
	}
}

// vsBestC compares lastcall's median (or p99) with the best C peer's.
func vsBestC(key string, limit float64, p99 bool) func(*table) (string, bool, bool) {
	return func(t *table) (string, bool, bool) {
		m, s, ok := t.lastcall(key)
		if !ok {
			return "not measured", false, false
		}
		pick := func(sum summary) float64 {
			if p99 {
				return sum.p99
			}
			return sum.median
		}
		a, b, name := pick(summarize(s)), math.Inf(1), ""
		for _, c := range t.cPeers {
			if cs := m.samples[c]; len(cs) > 0 {
				if v := pick(summarize(cs)); v < b {
					b, name = v, c
				}
			}
		}
		if name == "" {
			return "no C peer measured", false, false
		}
		r := a / b
		return fmt.Sprintf("%.2fx (%s vs %s %s)", r, formatValue(a, m.unit), name, formatValue(b, m.unit)), r <= limit, true
	}
}

// absolute checks lastcall's median (or, with worst, its largest sample)
// against a fixed upper limit.
func absolute(key string, limit float64, worst bool) func(*table) (string, bool, bool) {
	return func(t *table) (string, bool, bool) {
		m, s, ok := t.lastcall(key)
		if !ok {
			return "not measured", false, false
		}
		v := summarize(s).median
		if worst {
			v = maxOf(s)
		}
		return fmt.Sprintf("%s (limit %s)", formatValue(v, m.unit), formatValue(limit, m.unit)), v <= limit, true
	}
}

// absoluteMin checks that every one of lastcall's samples is at least min.
func absoluteMin(key string, min float64) func(*table) (string, bool, bool) {
	return func(t *table) (string, bool, bool) {
		_, s, ok := t.lastcall(key)
		if !ok {
			return "not measured", false, false
		}
		worst := -maxOf(negate(s))
		return fmt.Sprintf("%d of %d", countAtLeast(s, min), len(s)), worst >= min, true
	}
}

func maxOf(s []float64) float64 {
	v := math.Inf(-1)
	for _, x := range s {
		v = math.Max(v, x)
	}
	return v
}

func negate(s []float64) []float64 {
	out := make([]float64, len(s))
	for i, x := range s {
		out[i] = -x
	}
	return out
}

func countAtLeast(s []float64, min float64) int {
	n := 0
	for _, x := range s {
		if x >= min {
			n++
		}
	}
	return n
}

// writeTargets prints each target as met, NOT met or not measured.
func writeTargets(w io.Writer, t *table) {
	fmt.Fprintln(w, "targets for lastcall:")
	for _, tg := range targets {
		verdict, ok, measured := tg.check(t)
		mark := "met    "
		switch {
		case !measured:
			mark = "-      "
		case !ok:
			mark = "NOT met"
		}
		fmt.Fprintf(w, "  %s  %-44s %s\n", mark, tg.title, verdict)
	}
}
