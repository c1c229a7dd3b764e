// Command child is the program that lastcall's bench runs under each
// wrapper. It speaks one line at a time on stdout and exits when stdin
// reaches end of file (the bench closes it), so that it never outlives a
// bench run and never needs a sleep.
//
//	child usr1          print "ready", then "usr1 NS" for every SIGUSR1
//	child ignore-usr1   ignore SIGUSR1, print "ready"
//	child ignore-term   ignore SIGTERM, print "ready"
//	child stream N      make N orphans one after another, print "done NS"
//	child burst N       make N zombies that are orphaned at once, print "done NS"
//
// NS is CLOCK_MONOTONIC in nanoseconds, comparable with the bench's clock.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: child usr1|ignore-usr1|ignore-term|stream N|burst N")
	}
	switch mode := os.Args[1]; mode {
	case "usr1":
		usr1()
	case "ignore-usr1":
		signal.Ignore(syscall.SIGUSR1)
		say("ready")
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		say("ready")
	case "stream":
		say("ready")
		stream(count())
	case "burst":
		say("ready")
		burst(count())
	default:
		fail("unknown mode " + mode)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// usr1 reports every SIGUSR1 with the time it saw it, until stdin closes.
func usr1() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	say("ready")
	for range c {
		say("usr1 " + strconv.FormatInt(mono(), 10))
	}
}

// stream makes n orphans, one at a time: a middle process forks a
// grandchild and exits, the grandchild exits as soon as it sees that it has
// been orphaned. It prints the time the last middle process was reaped.
func stream(n int) {
	unlockSignals := blockSignals()
	for range n {
		mid, errno := forkOrphan()
		if errno != 0 {
			unlockSignals()
			fail("fork: " + errno.Error())
		}
		waitPid(mid)
	}
	unlockSignals()
	say("done " + strconv.FormatInt(mono(), 10))
}

// burst makes one middle process fork n children that exit at once, then
// exit itself: its n zombies are orphaned together. It prints the time the
// middle process was reaped, after which they all belong to the wrapper.
func burst(n int) {
	unlockSignals := blockSignals()
	mid, errno := forkBurst(n)
	unlockSignals()
	if errno != 0 {
		fail("fork: " + errno.Error())
	}
	waitPid(mid)
	say("done " + strconv.FormatInt(mono(), 10))
}

func waitPid(pid int) {
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err != syscall.EINTR {
			return
		}
	}
}

func count() int {
	if len(os.Args) < 3 {
		fail("missing count")
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fail("bad count " + os.Args[2])
	}
	return n
}

func mono() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func say(line string) {
	_, _ = os.Stdout.WriteString(line + "\n")
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "child:", msg)
	os.Exit(3)
}
