// Command bench measures what lastcall costs next to tini, tini-static,
// dumb-init, catatonit, a minimal Go wrapper (the "Go floor") and no
// wrapper at all, interleaved round by round in one run, and prints a table
// of medians with p99 and ratios, then the targets met or not.
//
//	go run ./bench              every metric, 7.5-8 minutes on a 2-core VM
//	go run ./bench -quick       every metric, smaller, under a minute
//	go run ./bench -metrics start,forward -start-rounds 500
//
// It builds lastcall, bench/gofloor and bench/child from the repository
// with CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' into a temporary
// directory. Run it as root (or where unprivileged user namespaces work):
// the PID-namespace metrics use unshare. See bench/README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	metrics          string
	contenders       string
	quick, markdown  bool
	repo, lastcall   string
	compare          string
	rev              string
	startRounds      int
	shutdownRounds   int
	forwardRounds    int
	idle             time.Duration
	orphans, zombies int
	reapRounds       int
	storm            int
	stormRounds      int
	escalationRounds int
}

var allMetrics = []string{"start", "start-pidns", "shutdown", "forward", "idle", "size", "reap", "burst", "storm", "escalation"}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.metrics, "metrics", "all", "comma-separated metrics to run: all or "+strings.Join(allMetrics, ","))
	fs.StringVar(&o.contenders, "contenders", "all", "comma-separated contenders to run: all or names as the table prints them")
	fs.BoolVar(&o.quick, "quick", false, "small counts everywhere (under a minute); explicit flags still win")
	fs.BoolVar(&o.markdown, "markdown", false, "print the table as Markdown")
	fs.StringVar(&o.repo, "repo", "", "lastcall repository to build (default: the module of the working directory)")
	fs.StringVar(&o.rev, "rev", "", "build lastcall from this git revision (e.g. HEAD) instead of the working tree")
	fs.StringVar(&o.lastcall, "lastcall", "", "use this lastcall binary instead of building one")
	fs.StringVar(&o.compare, "compare", "", "also run this lastcall binary, as contender \""+nameCompare+"\" (to compare two builds in one run)")
	fs.IntVar(&o.startRounds, "start-rounds", 200, "rounds of start+exit (plain and PID ns)")
	fs.IntVar(&o.shutdownRounds, "shutdown-rounds", 100, "rounds of shutdown")
	fs.IntVar(&o.forwardRounds, "forward-rounds", 300, "signals forwarded per contender")
	fs.DurationVar(&o.idle, "idle", 30*time.Second, "idle window")
	fs.IntVar(&o.orphans, "orphans", 10000, "orphans streamed per reaping round")
	fs.IntVar(&o.zombies, "zombies", 10000, "zombies per burst")
	fs.IntVar(&o.reapRounds, "reap-rounds", 3, "rounds of streamed orphans and of bursts")
	fs.IntVar(&o.storm, "storm", 100000, "signals per storm")
	fs.IntVar(&o.stormRounds, "storm-rounds", 3, "storms per contender")
	fs.IntVar(&o.escalationRounds, "escalation-rounds", 20, "rounds of lastcall's escalation")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quick := map[string]string{
			"start-rounds": "30", "shutdown-rounds": "20", "forward-rounds": "50", "idle": "3s",
			"orphans": "2000", "zombies": "2000", "reap-rounds": "1", "storm": "20000",
			"storm-rounds": "1", "escalation-rounds": "5",
		}
		for name, v := range quick {
			if !set[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	for _, m := range o.selected() {
		if !slices.Contains(allMetrics, m) {
			return o, fmt.Errorf("-metrics: unknown metric %q (want all or %s)", m, strings.Join(allMetrics, ","))
		}
	}
	return o, nil
}

func (o options) selected() []string {
	if o.metrics == "all" {
		return allMetrics
	}
	return strings.Split(o.metrics, ",")
}

func (o options) want(m string) bool { return slices.Contains(o.selected(), m) }

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
	if _, err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run builds the binaries, measures and prints the table and the targets
// to w, and returns the table.
func run(o options, w io.Writer) (*table, error) {
	began := time.Now()
	repo := o.repo
	if repo == "" {
		var err error
		if repo, err = findRepo(); err != nil {
			return nil, err
		}
	}
	b, err := build(repo, o.lastcall, o.rev)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.dir)
	b.compare = o.compare
	cs, notes := contenders(b)
	if o.contenders != "all" {
		keep := strings.Split(o.contenders, ",")
		cs = slices.DeleteFunc(cs, func(c contender) bool { return !slices.Contains(keep, c.name) })
	}
	printMachine(w)
	fmt.Fprintln(w, "lastcall:", source(repo, o))
	for _, n := range notes {
		fmt.Fprintln(w, "note:", n)
	}
	ms := collect(o, cs, b)
	t := &table{metrics: ms, floor: nameGoFloor, candidate: nameLastcall}
	for _, c := range cs {
		t.order = append(t.order, c.name)
		if c.cPeer {
			t.cPeers = append(t.cPeers, c.name)
		}
	}
	fmt.Fprintln(w)
	t.write(w, o.markdown)
	fmt.Fprintln(w)
	writeTargets(w, t)
	fmt.Fprintf(w, "\nbench took %s\n", time.Since(began).Round(time.Second))
	return t, nil
}

// collect runs the selected metrics, each one interleaving the contenders.
func collect(o options, cs []contender, b binaries) []*metric {
	var ms []*metric
	step := func(name string) { fmt.Fprintf(os.Stderr, "bench: %s...\n", name) }
	if o.want("start") {
		step("start")
		ms = append(ms, measureStart(cs, o.startRounds, false))
	}
	if o.want("start-pidns") {
		step("start-pidns")
		ms = append(ms, measureStart(cs, o.startRounds, true))
	}
	if o.want("shutdown") {
		step("shutdown")
		ms = append(ms, measureShutdown(cs, o.shutdownRounds))
	}
	if o.want("forward") {
		step("forward")
		ms = append(ms, measureForward(cs, b.child, o.forwardRounds))
	}
	if o.want("idle") {
		step("idle " + o.idle.String())
		r := measureIdle(cs, b.child, o.idle)
		ms = append(ms, r.ticks, r.ctxSwitches, r.threads, r.rss, r.hwm)
	}
	if o.want("size") {
		ms = append(ms, measureSize(cs))
	}
	if o.want("reap") {
		step("reap")
		peak, lag := measureStream(cs, b.child, o.orphans, o.reapRounds)
		ms = append(ms, peak, lag)
	}
	if o.want("burst") {
		step("burst")
		ms = append(ms, measureBurst(cs, b.child, o.zombies, o.reapRounds))
	}
	if o.want("storm") {
		step("storm")
		cpu, survived := measureStorm(cs, b.child, o.storm, o.stormRounds)
		ms = append(ms, cpu, survived)
	}
	if o.want("escalation") {
		step("escalation")
		ms = append(ms, measureEscalation(b, b.child, o.escalationRounds))
	}
	return ms
}

// printMachine says what the numbers were measured on.
func printMachine(w io.Writer) {
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := exec.Command("uname", "-r").Output()
	fmt.Fprintf(w, "machine: %d CPUs, %s, Linux %s, %s, %s\n", runtime.NumCPU(), model,
		strings.TrimSpace(string(kernel)), runtime.Version(), time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

// source says which lastcall the table measures.
func source(repo string, o options) string {
	if o.lastcall != "" {
		return "prebuilt " + o.lastcall
	}
	head, _ := exec.Command("git", "-C", repo, "rev-parse", "--short", "HEAD").Output()
	if o.rev != "" {
		rev, _ := exec.Command("git", "-C", repo, "rev-parse", "--short", o.rev).Output()
		return fmt.Sprintf("built from %s (%s)", o.rev, strings.TrimSpace(string(rev)))
	}
	dirty, _ := exec.Command("git", "-C", repo, "status", "--porcelain", "--untracked-files=no").Output()
	if len(dirty) > 0 {
		return fmt.Sprintf("built from the working tree of %s (HEAD %s, uncommitted changes included)", repo, strings.TrimSpace(string(head)))
	}
	return fmt.Sprintf("built from %s (HEAD %s, no uncommitted changes)", repo, strings.TrimSpace(string(head)))
}
