package signals

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// errMatches reports whether err fits want: no error when want is empty, an
// error whose text holds want otherwise.
func errMatches(err error, want string) bool {
	if err == nil {
		return want == ""
	}
	return want != "" && strings.Contains(err.Error(), want)
}

// expect fails t with the message unless ok: the one branch of a table test.
func expect(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

// checkSignal fails t unless Parse(in) gave want and an error fitting wantErr.
func checkSignal(t *testing.T, in string, got syscall.Signal, err error, want syscall.Signal, wantErr string) {
	t.Helper()
	expect(t, got == want && errMatches(err, wantErr),
		"Parse(%q) = %d, %v; want %d, error %q", in, got, err, want, wantErr)
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    syscall.Signal
		wantErr string
	}{
		{in: "TERM", want: syscall.SIGTERM},
		{in: "SIGTERM", want: syscall.SIGTERM},
		{in: "sigterm", want: syscall.SIGTERM},
		{in: "SigTerm", want: syscall.SIGTERM},
		{in: " \tSIGINT\n ", want: syscall.SIGINT},
		{in: "IOT", want: syscall.SIGABRT},
		{in: "sigcld", want: syscall.SIGCHLD},
		{in: "POLL", want: syscall.SIGIO},
		{in: "1", want: syscall.SIGHUP},
		{in: "15", want: syscall.SIGTERM},
		{in: "015", want: syscall.SIGTERM},
		{in: " 9 ", want: syscall.SIGKILL},
		{in: "31", want: syscall.SIGSYS},
		{in: "34", want: 34},
		{in: "64", want: 64},
		{in: "RTMIN", want: 34},
		{in: "SIGRTMIN", want: 34},
		{in: "rtmin+0", want: 34},
		{in: "RTMIN+1", want: 35},
		{in: "SIGRTMIN+3", want: 37},
		{in: "sigrtmin+15", want: 49},
		{in: "RTMIN+30", want: 64},
		{in: "RTMAX", want: 64},
		{in: "SIGRTMAX-0", want: 64},
		{in: "RTMAX-1", want: 63},
		{in: "SIGRTMAX-14", want: 50},
		{in: "RTMAX-30", want: 34},
		{in: "", wantErr: "empty signal (want a name like TERM or SIGTERM, or a number 1-64)"},
		{in: " \t\n", wantErr: "empty signal (want"},
		{in: "0", wantErr: `signal "0" out of range (want a name like TERM or SIGTERM, or a number 1-31 or 34-64)`},
		{in: "65", wantErr: `signal "65" out of range (want`},
		{in: "99999999999999999999999", wantErr: "out of range (want"},
		{in: "-1", wantErr: `unknown signal "-1" (want a name like TERM or SIGTERM, or a number 1-64)`},
		{in: "+15", wantErr: `unknown signal "+15" (want`},
		{in: "1_5", wantErr: `unknown signal "1_5" (want`},
		{in: "0x0f", wantErr: `unknown signal "0x0f" (want`},
		{in: "32", wantErr: `signal "32" is reserved by the C library (want a name like TERM or SIGTERM, or a number 1-31 or 34-64)`},
		{in: "33", wantErr: `signal "33" is reserved by the C library (want`},
		{in: "SIGCANCEL", wantErr: `signal "SIGCANCEL" is reserved by the C library (want`},
		{in: "setxid", wantErr: `signal "setxid" is reserved by the C library (want`},
		{in: "FOO", wantErr: `unknown signal "FOO" (want a name like TERM or SIGTERM, or a number 1-64)`},
		{in: " SIGFOO ", wantErr: `unknown signal "SIGFOO" (want`},
		{in: "SIG", wantErr: `unknown signal "SIG" (want`},
		{in: "SIGSIGTERM", wantErr: `unknown signal "SIGSIGTERM" (want`},
		{in: "SIG15", wantErr: `unknown signal "SIG15" (want`},
		{in: "SIG TERM", wantErr: `unknown signal "SIG TERM" (want`},
		{in: "TERM,INT", wantErr: `unknown signal "TERM,INT" (want`},
		{in: "sıgterm", wantErr: `unknown signal "sıgterm" (want`},
		{in: "RTMIN+31", wantErr: `signal "RTMIN+31" out of range (want RTMIN, RTMIN+N, RTMAX or RTMAX-N, with N 0-30)`},
		{in: "RTMAX-31", wantErr: `signal "RTMAX-31" is reserved by the C library (want RTMIN`},
		{in: "RTMAX-32", wantErr: `signal "RTMAX-32" is reserved by the C library (want RTMIN`},
		{in: "RTMAX-33", wantErr: `signal "RTMAX-33" out of range (want RTMIN`},
		{in: "RTMIN-1", wantErr: `signal "RTMIN-1" is reserved by the C library (want RTMIN`},
		{in: "RTMIN-3", wantErr: `signal "RTMIN-3" out of range (want RTMIN`},
		{in: "RTMAX+1", wantErr: `signal "RTMAX+1" out of range (want RTMIN`},
		{in: "RTMIN+99999999999999999999", wantErr: `signal "RTMIN+99999999999999999999" out of range (want RTMIN`},
		{in: "RTMIN+9223372036854775807", wantErr: `signal "RTMIN+9223372036854775807" out of range (want RTMIN`},
		{in: "RTMAX-9223372036854775807", wantErr: `signal "RTMAX-9223372036854775807" out of range (want RTMIN`},
		{in: "RTMIN+", wantErr: `unknown signal "RTMIN+" (want RTMIN`},
		{in: "RTMIN+-1", wantErr: `unknown signal "RTMIN+-1" (want RTMIN`},
		{in: "RTMIN++1", wantErr: `unknown signal "RTMIN++1" (want RTMIN`},
		{in: "RTMIN + 1", wantErr: `unknown signal "RTMIN + 1" (want RTMIN`},
		{in: "RTMINX", wantErr: `unknown signal "RTMINX" (want RTMIN`},
		{in: "RT", wantErr: `unknown signal "RT" (want RTMIN`},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		checkSignal(t, tt.in, got, err, tt.want, tt.wantErr)
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGHUP, "SIGHUP"}, {syscall.SIGINT, "SIGINT"}, {syscall.SIGQUIT, "SIGQUIT"},
		{syscall.SIGILL, "SIGILL"}, {syscall.SIGTRAP, "SIGTRAP"}, {syscall.SIGABRT, "SIGABRT"},
		{syscall.SIGBUS, "SIGBUS"}, {syscall.SIGFPE, "SIGFPE"}, {syscall.SIGKILL, "SIGKILL"},
		{syscall.SIGUSR1, "SIGUSR1"}, {syscall.SIGSEGV, "SIGSEGV"}, {syscall.SIGUSR2, "SIGUSR2"},
		{syscall.SIGPIPE, "SIGPIPE"}, {syscall.SIGALRM, "SIGALRM"}, {syscall.SIGTERM, "SIGTERM"},
		{syscall.SIGSTKFLT, "SIGSTKFLT"}, {syscall.SIGCHLD, "SIGCHLD"}, {syscall.SIGCONT, "SIGCONT"},
		{syscall.SIGSTOP, "SIGSTOP"}, {syscall.SIGTSTP, "SIGTSTP"}, {syscall.SIGTTIN, "SIGTTIN"},
		{syscall.SIGTTOU, "SIGTTOU"}, {syscall.SIGURG, "SIGURG"}, {syscall.SIGXCPU, "SIGXCPU"},
		{syscall.SIGXFSZ, "SIGXFSZ"}, {syscall.SIGVTALRM, "SIGVTALRM"}, {syscall.SIGPROF, "SIGPROF"},
		{syscall.SIGWINCH, "SIGWINCH"}, {syscall.SIGIO, "SIGIO"}, {syscall.SIGPWR, "SIGPWR"},
		{syscall.SIGSYS, "SIGSYS"},
		{34, "SIGRTMIN"}, {35, "SIGRTMIN+1"}, {37, "SIGRTMIN+3"}, {49, "SIGRTMIN+15"},
		{50, "SIGRTMAX-14"}, {63, "SIGRTMAX-1"}, {64, "SIGRTMAX"},
		{0, "signal 0"}, {32, "signal 32"}, {33, "signal 33"}, {65, "signal 65"},
		{99, "signal 99"}, {-1, "signal -1"},
	}
	for _, tt := range tests {
		got := Name(tt.sig)
		expect(t, got == tt.want, "Name(%d) = %q, want %q", tt.sig, got, tt.want)
	}
}

// valid lists the signals Parse accepts: 1-31 and 34-64.
func valid() []syscall.Signal {
	var sigs []syscall.Signal
	for sig := syscall.Signal(1); sig <= 64; sig++ {
		sigs = append(sigs, sig)
	}
	return slices.Delete(sigs, 31, 33) // signals 32 and 33
}

// TestNameRoundTrip checks Parse(Name(sig)) == sig for every signal that
// Parse accepts, and the number form too.
func TestNameRoundTrip(t *testing.T) {
	sigs := valid()
	expect(t, len(sigs) == 62 && sigs[30] == 31 && sigs[31] == 34, "valid() = %v", sigs)
	for _, sig := range sigs {
		for _, in := range []string{Name(sig), strconv.Itoa(int(sig))} {
			got, err := Parse(in)
			checkSignal(t, in, got, err, sig, "")
		}
	}
}

func TestReservedRejected(t *testing.T) {
	for _, sig := range []syscall.Signal{32, 33} {
		for _, in := range []string{Name(sig), strconv.Itoa(int(sig))} {
			got, err := Parse(in)
			checkSignal(t, in, got, err, 0, strconv.Quote(in))
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		in      string
		want    []syscall.Signal
		wantErr string
	}{
		{in: "TERM", want: []syscall.Signal{syscall.SIGTERM}},
		{in: "TERM,INT,QUIT", want: []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}},
		{in: " term , SIGINT,3 ", want: []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT}},
		{in: "INT,TERM,15,sigterm,INT,RTMIN,34", want: []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, 34}},
		{in: "RTMIN+3,RTMAX", want: []syscall.Signal{37, 64}},
		{in: "", wantErr: "empty signal list (want names or numbers separated by commas, like TERM,INT)"},
		{in: "  ", wantErr: "empty signal list (want"},
		{in: ",", wantErr: `signal list ",": item 1 is empty (want`},
		{in: "TERM,", wantErr: `signal list "TERM,": item 2 is empty (want names or numbers separated by commas, like TERM,INT)`},
		{in: "TERM,,INT", wantErr: `signal list "TERM,,INT": item 2 is empty`},
		{in: ",TERM", wantErr: `signal list ",TERM": item 1 is empty`},
		{in: "TERM, ,INT", wantErr: `signal list "TERM, ,INT": item 2 is empty`},
		{in: "TERM,FOO", wantErr: `signal list "TERM,FOO": unknown signal "FOO" (want a name like TERM or SIGTERM, or a number 1-64)`},
		{in: "TERM,32", wantErr: `signal list "TERM,32": signal "32" is reserved by the C library`},
		{in: "TERM;INT", wantErr: `signal list "TERM;INT": unknown signal "TERM;INT"`},
	}
	for _, tt := range tests {
		got, err := ParseList(tt.in)
		expect(t, slices.Equal(got, tt.want) && errMatches(err, tt.wantErr),
			"ParseList(%q) = %v, %v; want %v, error %q", tt.in, got, err, tt.want, tt.wantErr)
	}
}

func TestForwardable(t *testing.T) {
	without := []syscall.Signal{
		syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
		syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGUSR1, syscall.SIGSEGV,
		syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGSTKFLT,
		syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGXCPU,
		syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGWINCH, syscall.SIGIO, syscall.SIGPWR,
		syscall.SIGSYS,
		35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
		50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
	}
	with := []syscall.Signal{
		syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
		syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGUSR1, syscall.SIGSEGV,
		syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGSTKFLT,
		syscall.SIGCONT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGURG,
		syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGWINCH, syscall.SIGIO,
		syscall.SIGPWR, syscall.SIGSYS,
		35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
		50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
	}
	tests := []struct {
		withURG bool
		want    []syscall.Signal
	}{
		{false, without},
		{true, with},
	}
	for _, tt := range tests {
		got := Forwardable(tt.withURG)
		expect(t, slices.Equal(got, tt.want), "Forwardable(%v) = %v\nwant %v", tt.withURG, got, tt.want)
	}
}

// TestForwardableFresh checks that a caller changing the result changes
// nothing for the next caller.
func TestForwardableFresh(t *testing.T) {
	Forwardable(false)[0] = 0
	delete(NotForwarded(), syscall.SIGKILL)
	if got := Forwardable(false)[0]; got != syscall.SIGHUP {
		t.Errorf("Forwardable(false)[0] = %d after a caller changed its copy, want SIGHUP", got)
	}
	if _, ok := NotForwarded()[syscall.SIGKILL]; !ok {
		t.Error("NotForwarded() lost SIGKILL after a caller changed its copy")
	}
}

func TestNotForwarded(t *testing.T) {
	want := []syscall.Signal{
		syscall.SIGKILL, syscall.SIGCHLD, syscall.SIGSTOP, syscall.SIGURG, syscall.SIGPROF, 32, 33, 34,
	}
	got := NotForwarded()
	keys := slices.Sorted(maps.Keys(got))
	expect(t, slices.Equal(keys, want), "NotForwarded() keys = %v, want %v", keys, want)
	for sig, why := range got {
		expect(t, why != "" && !slices.Contains(Forwardable(false), sig),
			"NotForwarded()[%s] = %q: want a reason, and the signal absent from Forwardable(false)", Name(sig), why)
	}
	n := len(got) + len(Forwardable(false))
	expect(t, n == 64, "NotForwarded and Forwardable(false) cover %d signals, want all 64", n)
}
