package supervisor

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/lastcall-dev/lastcall/signals"
)

// helperEnv marks a run of the test binary as a helper: os.Args[1] names it.
const helperEnv = "LASTCALL_TEST_HELPER"

// helpers are the programs the test binary plays, by name.
var helpers = map[string]func(args []string) int{
	"supervise":        superviseHelper,
	"trap":             trapHelper,
	"ignore-term":      ignoreTermHelper,
	"exit":             exitHelper,
	"spawn":            spawnHelper,
	"orphans":          orphansHelper,
	"grandchild":       grandchildHelper,
	"leave-behind":     leaveBehindHelper,
	"exec-masked":      execMaskedHelper,
	"ignore-tree":      ignoreTreeHelper,
	"ignore-usr1":      ignoreUSR1Helper,
	"fake-postmaster":  fakePostmasterHelper,
	"leave-postmaster": leavePostmasterHelper,
	"ns-init":          nsInitHelper,
	"leave":            leaveHelper,
	"fork-loop":        forkLoopHelper,
	"fork-loop-ignore": func([]string) int { return forkLoopHelper([]string{"ignore"}) },
}

func runHelper(name string, args []string) int {
	h, ok := helpers[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", name)
		return 3
	}
	return h(args)
}

// helperCmd is the argv that runs helper name with args.
func helperCmd(name string, args ...string) []string {
	return append([]string{os.Args[0], name}, args...)
}

// superviseHelper plays lastcall: flags, then "--", then the command.
func superviseHelper(args []string) int {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	grace := fs.Duration("grace", 10*time.Second, "")
	delay := fs.Duration("pre-stop-delay", 0, "")
	sequence := fs.String("sequence", "", "")
	rewrite := fs.String("rewrite", "", "")
	secondKills := fs.Bool("second-kills", false, "")
	leftover := fs.Duration("leftover-grace", 2*time.Second, "")
	group := fs.Bool("group", false, "")
	stops := fs.String("stop", "TERM,INT,QUIT", "")
	raise := fs.String("raise-before-start", "", "")
	urg := fs.Bool("urg", false, "")
	hooks := fs.Bool("hooks", false, "")
	postgres := fs.Bool("postgres", true, "")
	budget := fs.Duration("budget", 0, "")
	holdPostgres := fs.Duration("hold-postgres", 0, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *raise != "" {
		beforeStartHook = func() { raiseAndWait(mustSignal(*raise)) }
	}
	in := signals.PlanInput{Budget: time.Hour, PreStopDelay: *delay, Grace: *grace, GraceSet: true}
	if *sequence != "" {
		seq, err := signals.ParseStopSequence(*sequence)
		if err != nil {
			panic(err)
		}
		in.Sequence = seq
	}
	plan, err := signals.PlanStop(in)
	if err != nil {
		panic(err)
	}
	rw := signals.Rewrite{}
	if *rewrite != "" {
		if err := rw.Add(*rewrite); err != nil {
			panic(err)
		}
	}
	enc := zap.NewDevelopmentEncoderConfig()
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zap.DebugLevel))
	cfg := Config{
		Args: fs.Args(), Plan: plan, LeftoverGrace: *leftover, Rewrite: rw, SecondStopKills: *secondKills,
		StopSignals: mustSignals(*stops), ForwardToGroup: *group, ForwardURG: *urg, Logger: log,
		PostgresStop: *postgres, Budget: *budget, PostgresReserve: time.Second,
	}
	if *holdPostgres > 0 {
		cfg.BeforePostgresStop = func() <-chan struct{} {
			fmt.Fprintln(os.Stderr, "hook: before postgres stop")
			done := make(chan struct{})
			time.AfterFunc(*holdPostgres, func() {
				fmt.Fprintln(os.Stderr, "hook: verdict taken")
				close(done)
			})
			return done
		}
	}
	if *hooks {
		cfg.OnStop = func() { fmt.Fprintln(os.Stderr, "hook: stop") }
		cfg.OnChildExit = func(alive []Process) { fmt.Fprintf(os.Stderr, "hook: child exited, alive %v\n", alive) }
	}
	res, err := Run(context.Background(), cfg)
	var se *StartError
	if errors.As(err, &se) {
		log.Error("start failed", zap.Error(err))
		return se.Code
	}
	if err != nil {
		log.Error("run failed", zap.Error(err))
		return 1
	}
	return res.ExitCode
}

// trapHelper prints "got NAME" for every forwardable signal it receives and
// exits 0 on the one named by args[0] (default SIGTERM). A prefix given
// as args[1] labels its lines.
func trapHelper(args []string) int {
	exitOn := syscall.SIGTERM
	if len(args) > 0 {
		exitOn = mustSignal(args[0])
	}
	prefix := ""
	if len(args) > 1 {
		prefix = args[1] + " "
	}
	ch := make(chan os.Signal, 64)
	// SIGURG only when asked: the Go runtime sends it to itself for async
	// preemption unless GODEBUG=asyncpreemptoff=1.
	for _, sig := range signals.Forwardable(os.Getenv("LASTCALL_TEST_TRAP_URG") == "1") {
		signal.Notify(ch, sig)
	}
	fmt.Printf("%sready %d\n", prefix, os.Getpid())
	for s := range ch {
		fmt.Printf("%sgot %s\n", prefix, signals.Name(s.(syscall.Signal)))
		if s == exitOn {
			return 0
		}
	}
	return 0
}

func ignoreTermHelper([]string) int {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	fmt.Printf("ready %d\n", os.Getpid())
	time.Sleep(time.Hour)
	return 0
}

func exitHelper(args []string) int {
	n, _ := strconv.Atoi(args[0])
	return n
}

// spawnsTimed is how many spawns spawnHelper times for the test to size
// its wait from.
const spawnsTimed = 200

// spawnHelper starts args[0] copies of /bin/true and exits without waiting:
// they become orphans. After the first spawnsTimed (or all, if fewer) it
// prints "spawned N in D ns": how long they took.
func spawnHelper(args []string) int {
	n, _ := strconv.Atoi(args[0])
	start := time.Now()
	for i := 0; i < n; i++ {
		p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_ = p.Release()
		if i+1 == min(n, spawnsTimed) {
			fmt.Printf("spawned %d in %d ns\n", i+1, time.Since(start).Nanoseconds())
		}
	}
	return 0
}

// nsInitHelper is the init of a PID namespace above a lastcall that runs
// as a plain subreaper: it starts args, reaps whatever is reparented to it
// and exits with the command's exit code (128+N for signal N) once the
// command is gone. The kernel then kills and reaps the rest of the
// namespace.
func nsInitHelper(args []string) int {
	p, err := os.StartProcess(args[0], args, &os.ProcAttr{Files: []*os.File{os.Stdin, os.Stdout, os.Stderr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
		case err != nil:
			fmt.Fprintln(os.Stderr, "ns-init: wait4:", err)
			return 1
		case pid == p.Pid && ws.Signaled():
			return 128 + int(ws.Signal())
		case pid == p.Pid:
			return ws.ExitStatus()
		}
	}
}

// orphansHelper has a helper of its own leave args[0] orphans behind, says
// "ready" once that helper is gone, and waits for SIGTERM.
func orphansHelper(args []string) int {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	argv := helperCmd("spawn", args[0])
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Files: []*os.File{nil, os.Stdout, os.Stderr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if st, err := p.Wait(); err != nil || !st.Success() {
		fmt.Fprintln(os.Stderr, "spawn failed", st, err)
		return 1
	}
	fmt.Printf("ready %d\n", os.Getpid())
	<-ch
	return 0
}

// grandchildHelper starts a trapping grandchild in its own process group
// (which it shares), then traps signals itself: both print what they get.
func grandchildHelper([]string) int {
	argv := helperCmd("trap", "SIGTERM", "grandchild")
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Files: []*os.File{nil, os.Stdout, os.Stderr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer p.Release()
	return trapHelper([]string{"SIGTERM", "child"})
}

// leaveBehindHelper starts args[0] ("trap" or "ignore-term") as a grandchild
// and exits once the grandchild said ready, leaving it behind.
func leaveBehindHelper(args []string) int {
	argv := helperCmd(args[0])
	r, w, err := os.Pipe()
	if err != nil {
		return 1
	}
	p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{Files: []*os.File{nil, w, os.Stderr}})
	w.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	fmt.Printf("left %d %q\n", p.Pid, buf[:n])
	return 0
}

// execMaskedHelper blocks the signals in args[0], ignores those in args[1]
// ("-" for none) and execs the rest, which inherits both.
func execMaskedHelper(args []string) int {
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, sig := range mustSignals(args[0]) {
		set.Val[(sig-1)/64] |= 1 << ((uint(sig) - 1) % 64)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, sig := range mustSignals(args[1]) {
		signal.Ignore(sig)
	}
	err := syscall.Exec(args[2], args[2:], os.Environ())
	fmt.Fprintln(os.Stderr, err)
	return 1
}

func mustSignal(s string) syscall.Signal {
	sig, err := signals.Parse(s)
	if err != nil {
		panic(err)
	}
	return sig
}

func mustSignals(s string) []syscall.Signal {
	if s == "-" {
		return nil
	}
	list, err := signals.ParseList(s)
	if err != nil {
		panic(err)
	}
	return list
}

// raiseAndWait sends sig to this process and waits until the runtime has
// taken it: until it is no longer pending.
func raiseAndWait(sig syscall.Signal) {
	if err := unix.Kill(os.Getpid(), sig); err != nil {
		panic(err)
	}
	bit := uint64(1) << (uint(sig) - 1)
	for pendingSignals()&bit != 0 {
		runtime.Gosched()
	}
}

func pendingSignals() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	var mask uint64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "ShdPnd:"); ok {
			m, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			mask |= m
		}
	}
	return mask
}

// ignoreTreeHelper starts two grandchildren that ignore SIGTERM, one in its
// process group and one in a session of its own (out of reach of a group
// kill), waits until both are ready, says "ready PID PID" and ignores
// SIGTERM itself.
func ignoreTreeHelper([]string) int {
	signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	var pids []string
	for _, setsid := range []bool{false, true} {
		r, w, err := os.Pipe()
		if err != nil {
			return 1
		}
		argv := helperCmd("ignore-term")
		p, err := os.StartProcess(argv[0], argv, &os.ProcAttr{
			Files: []*os.File{nil, w, os.Stderr},
			Sys:   &syscall.SysProcAttr{Setsid: setsid},
		})
		w.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, 64)
		if n, _ := r.Read(buf); !strings.HasPrefix(string(buf[:n]), "ready") {
			return 1
		}
		r.Close()
		pids = append(pids, strconv.Itoa(p.Pid))
	}
	fmt.Printf("ready %s\n", strings.Join(pids, " "))
	time.Sleep(time.Hour)
	return 0
}

// ignoreUSR1Helper ignores SIGUSR1, says ready, and exits 0 on SIGTERM.
func ignoreUSR1Helper([]string) int {
	signal.Ignore(syscall.SIGUSR1)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	fmt.Printf("ready %d\n", os.Getpid())
	<-ch
	return 0
}
