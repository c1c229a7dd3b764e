package pgserver

import (
	"os"
	"strconv"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in      string
		want    procStat
		wantErr bool
	}{
		{"42 (postgres) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0",
			procStat{ppid: 1, start: 12345, state: 'S', comm: "postgres"}, false},
		{"7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			procStat{ppid: 3, start: 99, state: 'Z', comm: "a (b) c"}, false},
		{"", procStat{}, true},
		{"42 (postgres S 1", procStat{}, true},
		{"42 (postgres) S 1 42", procStat{}, true},
		{"42 (postgres) S p 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", procStat{}, true},
		{"42 (postgres) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 -5 0 0", procStat{}, true},
		{"42 (postgres) SS 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", procStat{}, true},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The parser agrees with the kernel about this very process.
func TestReadStatSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil || st.ppid != os.Getppid() || st.start == 0 {
		t.Errorf("readStat(self) = %+v, %v; want ppid %d and a start time", st, err, os.Getppid())
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (postgres) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0"))
	f.Add([]byte("7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStat(b)
		if err != nil {
			return
		}
		// What parsed says the same when written back the kernel's way.
		again := "1 (" + st.comm + ") " + string([]byte{st.state}) + " " + strconv.Itoa(st.ppid) +
			" 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 " + strconv.FormatUint(st.start, 10)
		if got, err := parseStat([]byte(again)); err != nil || got != st {
			t.Fatalf("parseStat(%q) = %+v, but its rewrite %q gives %+v, %v", b, st, again, got, err)
		}
	})
}
