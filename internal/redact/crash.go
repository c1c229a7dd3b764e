package redact

import (
	"fmt"
	"os"
	"runtime/debug"
)

// exitPanic is the exit code of a program that panicked, as the Go runtime
// sets it.
const exitPanic = 2

// ScrubPanics, deferred on a goroutine of lastcall's that may hold a
// database URL (last, so that it runs before any deferred call that would
// let another goroutine go on), reports a panic with every form of the
// URLs' passwords and PGPASSWORD masked: the value, then the panicking
// goroutine's stack, and exits 2, as the runtime does. Unlike the runtime,
// it prints that goroutine only and never dumps core, whatever GOTRACEBACK
// says. The runtime's own report would print the panic value whole, and
// recovering and panicking again does not help: it prints the first value
// too. Stacks print arguments as machine words, never the bytes of a
// string.
func ScrubPanics(dsns ...string) {
	v := recover()
	if v == nil {
		return
	}
	known := append(Secrets("", os.Getenv("PGPASSWORD")), secretsOf(dsns)...)
	fmt.Fprintf(os.Stderr, "panic: %s\n\n%s", Replace(fmt.Sprint(v), known), Replace(string(debug.Stack()), known))
	os.Exit(exitPanic)
}
