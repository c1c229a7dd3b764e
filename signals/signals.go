package signals

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// The real-time range as glibc reports it to applications (SIGRTMIN and
// SIGRTMAX). The kernel's first two real-time signals, 32 and 33, are
// reserved by the C library for its own threads.
const (
	sigCancel syscall.Signal = 32 // glibc's SIGCANCEL: thread cancellation
	sigSetxid syscall.Signal = 33 // glibc's SIGSETXID: setuid and friends across threads
	rtMin     syscall.Signal = 34
	rtMax     syscall.Signal = 64
	maxSig    syscall.Signal = 64

	// rtMinSpan is the last N that Name writes as SIGRTMIN+N; higher
	// signals are written SIGRTMAX-N, as kill -l and strsignal do.
	rtMinSpan = 15
)

// The accepted forms, quoted at the end of every error.
const (
	wantSignal   = "want a name like TERM or SIGTERM, or a number 1-64"
	wantNumber   = "want a name like TERM or SIGTERM, or a number 1-31 or 34-64"
	wantRealtime = "want RTMIN, RTMIN+N, RTMAX or RTMAX-N, with N 0-30"
	wantList     = "want names or numbers separated by commas, like TERM,INT"
)

// names holds the canonical names of the classic signals 1-31.
var names = map[syscall.Signal]string{
	syscall.SIGHUP:    "SIGHUP",
	syscall.SIGINT:    "SIGINT",
	syscall.SIGQUIT:   "SIGQUIT",
	syscall.SIGILL:    "SIGILL",
	syscall.SIGTRAP:   "SIGTRAP",
	syscall.SIGABRT:   "SIGABRT",
	syscall.SIGBUS:    "SIGBUS",
	syscall.SIGFPE:    "SIGFPE",
	syscall.SIGKILL:   "SIGKILL",
	syscall.SIGUSR1:   "SIGUSR1",
	syscall.SIGSEGV:   "SIGSEGV",
	syscall.SIGUSR2:   "SIGUSR2",
	syscall.SIGPIPE:   "SIGPIPE",
	syscall.SIGALRM:   "SIGALRM",
	syscall.SIGTERM:   "SIGTERM",
	syscall.SIGSTKFLT: "SIGSTKFLT",
	syscall.SIGCHLD:   "SIGCHLD",
	syscall.SIGCONT:   "SIGCONT",
	syscall.SIGSTOP:   "SIGSTOP",
	syscall.SIGTSTP:   "SIGTSTP",
	syscall.SIGTTIN:   "SIGTTIN",
	syscall.SIGTTOU:   "SIGTTOU",
	syscall.SIGURG:    "SIGURG",
	syscall.SIGXCPU:   "SIGXCPU",
	syscall.SIGXFSZ:   "SIGXFSZ",
	syscall.SIGVTALRM: "SIGVTALRM",
	syscall.SIGPROF:   "SIGPROF",
	syscall.SIGWINCH:  "SIGWINCH",
	syscall.SIGIO:     "SIGIO",
	syscall.SIGPWR:    "SIGPWR",
	syscall.SIGSYS:    "SIGSYS",
}

// reservedNames are the names Go's runtime gives the signals glibc keeps for
// itself, so that Parse can reject them as reserved rather than unknown.
var reservedNames = map[string]syscall.Signal{
	"CANCEL": sigCancel,
	"SETXID": sigSetxid,
}

// byName maps upper-case names without the SIG prefix to signals: the
// canonical names plus the old aliases kill(1) still accepts.
var byName = func() map[string]syscall.Signal {
	m := map[string]syscall.Signal{
		"IOT":  syscall.SIGIOT,
		"CLD":  syscall.SIGCLD,
		"POLL": syscall.SIGPOLL,
	}
	for sig, name := range names {
		m[strings.TrimPrefix(name, "SIG")] = sig
	}
	return m
}()

// Parse reads one signal: a name with or without the SIG prefix, any case
// ("TERM", "SIGTERM", "sigterm"), a number ("15"), or a real-time signal as
// RTMIN, RTMIN+N, RTMAX-N, SIGRTMIN+3 (RTMIN is 34 and RTMAX 64 here: the
// values glibc gives applications; 32 and 33 are reserved by the C library and
// are rejected by name and by number with a clear error). Errors name the
// input and the accepted forms, e.g. `unknown signal "FOO" (want a name like
// TERM or SIGTERM, or a number 1-64)`. 0 is rejected. Whitespace around the
// value is trimmed.
func Parse(s string) (syscall.Signal, error) {
	v := strings.TrimSpace(s)
	if v == "" {
		return 0, fmt.Errorf("empty signal (%s)", wantSignal)
	}
	if isDigits(v) {
		n, err := strconv.Atoi(v) // fails only on overflow: v holds digits only
		if err != nil {
			return 0, fmt.Errorf("signal %q out of range (%s)", v, wantNumber)
		}
		return checkRange(v, syscall.Signal(n), 1, maxSig, wantNumber)
	}
	name := strings.TrimPrefix(asciiUpper(v), "SIG")
	if sig, ok := byName[name]; ok {
		return sig, nil
	}
	if sig, ok := reservedNames[name]; ok {
		return checkRange(v, sig, 1, maxSig, wantNumber)
	}
	if strings.HasPrefix(name, "RT") {
		return parseRealtime(v, name)
	}
	return 0, fmt.Errorf("unknown signal %q (%s)", v, wantSignal)
}

// parseRealtime reads name, v upper-cased and without its SIG prefix, as
// RTMIN or RTMAX, optionally followed by +N or -N. Only the values that land
// in 34-64 are signals; the others are out of range or reserved.
func parseRealtime(v, name string) (syscall.Signal, error) {
	var base syscall.Signal
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base = rtMin
	case strings.HasPrefix(name, "RTMAX"):
		base = rtMax
	default:
		return 0, fmt.Errorf("unknown signal %q (%s)", v, wantRealtime)
	}
	offset := name[len("RTMIN"):]
	if offset == "" {
		return base, nil
	}
	if (offset[0] != '+' && offset[0] != '-') || !isDigits(offset[1:]) {
		return 0, fmt.Errorf("unknown signal %q (%s)", v, wantRealtime)
	}
	n, err := strconv.Atoi(offset[1:])
	if err != nil || n > int(maxSig) {
		return 0, fmt.Errorf("signal %q out of range (%s)", v, wantRealtime)
	}
	if offset[0] == '-' {
		n = -n
	}
	return checkRange(v, base+syscall.Signal(n), rtMin, rtMax, wantRealtime)
}

// checkRange returns sig when it lies in lo-hi and is not reserved by the C
// library, and an error naming v, the input, and want otherwise.
func checkRange(v string, sig, lo, hi syscall.Signal, want string) (syscall.Signal, error) {
	switch {
	case sig == sigCancel || sig == sigSetxid:
		return 0, fmt.Errorf("signal %q is reserved by the C library (%s)", v, want)
	case sig < lo || sig > hi:
		return 0, fmt.Errorf("signal %q out of range (%s)", v, want)
	}
	return sig, nil
}

// ParseList reads a comma-separated list ("TERM,INT,QUIT"); empty items and
// an empty list are errors; duplicates are removed keeping first order.
func ParseList(s string) ([]syscall.Signal, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty signal list (%s)", wantList)
	}
	var out []syscall.Signal
	for i, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			return nil, fmt.Errorf("signal list %q: item %d is empty (%s)", s, i+1, wantList)
		}
		sig, err := Parse(item)
		if err != nil {
			return nil, fmt.Errorf("signal list %q: %w", s, err)
		}
		if !slices.Contains(out, sig) {
			out = append(out, sig)
		}
	}
	return out, nil
}

// Name gives the canonical name: "SIGTERM", "SIGRTMIN+3", "SIGRTMAX" ... ;
// unknown numbers give "signal 99".
func Name(sig syscall.Signal) string {
	if name, ok := names[sig]; ok {
		return name
	}
	switch {
	case sig == rtMin:
		return "SIGRTMIN"
	case sig == rtMax:
		return "SIGRTMAX"
	case sig > rtMin && sig <= rtMin+rtMinSpan:
		return "SIGRTMIN+" + strconv.Itoa(int(sig-rtMin))
	case sig > rtMin+rtMinSpan && sig < rtMax:
		return "SIGRTMAX-" + strconv.Itoa(int(rtMax-sig))
	}
	return "signal " + strconv.Itoa(int(sig))
}

// isDigits reports whether s is non-empty and holds only ASCII digits, so
// that a sign, which strconv.Atoi accepts, is refused.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// asciiUpper upper-cases ASCII letters only, so that no non-ASCII rune (such
// as the dotless ı, which strings.ToUpper turns into I) can spell a name.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
