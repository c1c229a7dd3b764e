// Command gofloor is the "Go floor" of lastcall's bench: the least a Go
// wrapper can do. It starts COMMAND with os/exec and its own stdin, stdout
// and stderr, forwards every signal it can catch from one goroutine, waits
// for the child and exits with its status (128+N for death by signal N).
//
//	gofloor COMMAND [ARG...]
//
// It does not reap orphans, does not escalate and logs nothing: it is the
// cost of the Go runtime plus os/exec, against which lastcall is held.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// forwardable is every signal 1-64 a Go program can catch and forward:
// all but SIGKILL and SIGSTOP (cannot be caught), SIGCHLD (the wrapper's
// own), SIGPROF (kept by the runtime), SIGURG (the runtime's preemption)
// and 32-34 (reserved by the C library).
func forwardable() []os.Signal {
	var out []os.Signal
	for n := 1; n <= 64; n++ {
		sig := syscall.Signal(n)
		switch {
		case sig == syscall.SIGKILL, sig == syscall.SIGSTOP, sig == syscall.SIGCHLD,
			sig == syscall.SIGPROF, sig == syscall.SIGURG, n >= 32 && n <= 34:
			continue
		}
		out = append(out, sig)
	}
	return out
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: gofloor COMMAND [ARG...]")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, forwardable()...)

	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "gofloor:", err)
		os.Exit(127)
	}
	go func() {
		for sig := range sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err := cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(exitErr.ExitCode())
	default:
		fmt.Fprintln(os.Stderr, "gofloor:", err)
		os.Exit(1)
	}
}
