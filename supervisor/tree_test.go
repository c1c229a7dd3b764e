package supervisor

import (
	"os"
	"strconv"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in      string
		want    procEntry
		wantErr bool
	}{
		{"42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0",
			procEntry{pid: 42, ppid: 1, start: 12345, state: 'S', comm: "sleep"}, false},
		{"7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			procEntry{pid: 7, ppid: 3, start: 99, state: 'Z', comm: "a (b) c"}, false},
		{"8 (x) y) R 2 8 8 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
			procEntry{pid: 8, ppid: 2, start: 5, state: 'R', comm: "x) y"}, false},
		{"", procEntry{}, true},
		{"42 (sleep S 1", procEntry{}, true},
		{"42 (sleep) S 1 42", procEntry{}, true},
		{"x (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", procEntry{}, true},
		{"42 (sleep) S p 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", procEntry{}, true},
		{"42 (sleep) SS 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", procEntry{}, true},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The parser agrees with the kernel about this very process.
func TestParseStatSelf(t *testing.T) {
	p, err := readStat(os.Getpid())
	if err != nil || p.pid != os.Getpid() || p.ppid != os.Getppid() || p.start == 0 {
		t.Errorf("readStat(self) = %+v, %v; want pid %d, ppid %d", p, err, os.Getpid(), os.Getppid())
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0"))
	f.Add([]byte("7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseStat(b)
		if err != nil {
			return
		}
		// What parsed must say the same when written back the kernel's way.
		again := strconv.Itoa(p.pid) + " (" + p.comm + ") " + string([]byte{p.state}) + " " + strconv.Itoa(p.ppid) +
			" 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 " + strconv.FormatUint(p.start, 10)
		q, err := parseStat([]byte(again))
		if err != nil || q != p {
			t.Fatalf("parseStat(%q) = %+v, but its rewrite %q gives %+v, %v", b, p, again, q, err)
		}
	})
}
