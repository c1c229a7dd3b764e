package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// unit says how a metric's values print. Every value is stored in the
// metric's base unit: nanoseconds for times, bytes for sizes, a plain
// number for counts.
type unit int

const (
	unitTime unit = iota
	unitBytes
	unitCount
)

// metric is one row group of the table: its samples, per contender.
type metric struct {
	key     string // unique: start, shutdown, idle-rss, ...
	title   string
	unit    unit
	samples map[string][]float64 // contender name -> samples
	notes   []string             // failures and skips, printed under the table
}

func newMetric(key, title string, u unit) *metric {
	return &metric{key: key, title: title, unit: u, samples: map[string][]float64{}}
}

func (m *metric) add(contender string, v float64) {
	m.samples[contender] = append(m.samples[contender], v)
}

func (m *metric) notef(format string, a ...any) {
	m.notes = append(m.notes, fmt.Sprintf(format, a...))
}

// summary is what the table shows of one contender's samples.
type summary struct {
	n           int
	median, p99 float64
}

func summarize(samples []float64) summary {
	s := slices.Clone(samples)
	slices.Sort(s)
	return summary{n: len(s), median: quantile(s, 0.5), p99: quantile(s, 0.99)}
}

// quantile returns the q-quantile of sorted by linear interpolation between
// the closest ranks (the method of numpy's default and R's type 7). It
// returns NaN for no samples.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

// best returns the name and summary of the contender with the lowest
// median among names that have samples in m.
func (m *metric) best(names []string) (string, summary, bool) {
	var (
		bestName string
		bestSum  summary
		found    bool
	)
	for _, name := range names {
		s, ok := m.samples[name]
		if !ok || len(s) == 0 {
			continue
		}
		sum := summarize(s)
		if !found || sum.median < bestSum.median {
			bestName, bestSum, found = name, sum, true
		}
	}
	return bestName, bestSum, found
}

// formatValue prints v in a unit a reader takes in at a glance.
func formatValue(v float64, u unit) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch u {
	case unitTime:
		switch a := math.Abs(v); {
		case a >= 1e9:
			return fmt.Sprintf("%.2f s", v/1e9)
		case a >= 1e6:
			return fmt.Sprintf("%.2f ms", v/1e6)
		case a >= 1e3:
			return fmt.Sprintf("%.1f µs", v/1e3)
		default:
			return fmt.Sprintf("%.0f ns", v)
		}
	case unitBytes:
		switch {
		case v >= 1<<20:
			return fmt.Sprintf("%.2f MiB", v/(1<<20))
		case v >= 1<<10:
			return fmt.Sprintf("%.0f KiB", v/(1<<10))
		default:
			return fmt.Sprintf("%.0f B", v)
		}
	default:
		if v == math.Trunc(v) {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.1f", v)
	}
}

// ratio prints a/b as "1.23x", or "-" when it means nothing.
func ratio(a, b float64) string {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return "-"
	case b == 0 && a == 0:
		return "1.00x"
	case b == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// table is the report: one block of rows per metric.
type table struct {
	metrics   []*metric
	order     []string // contenders, in print order
	cPeers    []string // the C peers, for "best C peer"
	floor     string   // the Go floor's name
	candidate string   // lastcall's name
}

// write prints the table as aligned text, or as Markdown when md is true.
func (t *table) write(w io.Writer, md bool) {
	header := []string{"metric", "contender", "n", "median", "p99", "vs best C", "lastcall vs Go floor"}
	var rows [][]string
	for _, m := range t.metrics {
		bestName, bestSum, haveBest := m.best(t.cPeers)
		floor, haveFloor := m.samples[t.floor]
		first := true
		for _, name := range t.order {
			s, ok := m.samples[name]
			if !ok || len(s) == 0 {
				continue
			}
			sum := summarize(s)
			vsBest := "-"
			if haveBest {
				vsBest = ratio(sum.median, bestSum.median)
				if name == bestName {
					vsBest += " (best)"
				}
			}
			vsFloor := ""
			if name == t.candidate && haveFloor && len(floor) > 0 {
				vsFloor = ratio(sum.median, summarize(floor).median)
			}
			title := ""
			if first {
				title = m.title
			}
			first = false
			rows = append(rows, []string{title, name, fmt.Sprint(sum.n), formatValue(sum.median, m.unit),
				formatValue(sum.p99, m.unit), vsBest, vsFloor})
		}
	}
	if md {
		writeMarkdown(w, header, rows)
	} else {
		writeAligned(w, header, rows)
	}
	for _, m := range t.metrics {
		for _, n := range m.notes {
			fmt.Fprintf(w, "note: %s: %s\n", m.title, n)
		}
	}
}

func writeAligned(w io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			pad := widths[i] - len([]rune(c))
			if i >= 2 && i <= 4 { // numbers align right
				b.WriteString(strings.Repeat(" ", pad) + c)
			} else {
				b.WriteString(c + strings.Repeat(" ", pad))
			}
			b.WriteString("  ")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
}

func writeMarkdown(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintln(w, "| "+strings.Join(header, " | ")+" |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
	}
}
