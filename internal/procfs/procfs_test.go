package procfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in      string
		want    Stat
		wantErr bool
	}{
		{"42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0",
			Stat{PID: 42, PPID: 1, Pgrp: 42, Start: 12345, State: 'S', Comm: "sleep"}, false},
		{"7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			Stat{PID: 7, PPID: 3, Pgrp: 7, Start: 99, State: 'Z', Comm: "a (b) c"}, false},
		{"8 (x) y) R 2 8 8 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0",
			Stat{PID: 8, PPID: 2, Pgrp: 8, Start: 5, State: 'R', Comm: "x) y"}, false},
		{"", Stat{}, true},
		{"42 (sleep S 1", Stat{}, true},
		{"42 (sleep) S 1 42", Stat{}, true},
		{"x (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", Stat{}, true},
		{"42 (sleep) S p 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", Stat{}, true},
		{"42 (sleep) SS 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0", Stat{}, true},
	}
	for _, tt := range tests {
		got, err := ParseStat([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseStat(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The parser agrees with the kernel about this very process.
func TestParseStatSelf(t *testing.T) {
	p, err := ReadStat(os.Getpid())
	if err != nil || p.PID != os.Getpid() || p.PPID != os.Getppid() || p.Pgrp != syscall.Getpgrp() || p.Start == 0 {
		t.Errorf("ReadStat(self) = %+v, %v; want pid %d, ppid %d", p, err, os.Getpid(), os.Getppid())
	}
}

// ReadStat reads with raw system calls: a gone process is still
// fs.ErrNotExist, a file longer than the buffer an error, and every
// process of this machine's /proc fits (a kernel thread's long name too).
func TestReadStatErrors(t *testing.T) {
	if _, err := ReadStat(1 << 30); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadStat(a pid that cannot exist) = %v, want fs.ErrNotExist", err)
	}
	long := filepath.Join(t.TempDir(), "long")
	if err := os.WriteFile(long, make([]byte, statSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	var buf [statSize]byte
	if _, err := readSmall(long, buf[:]); err == nil {
		t.Errorf("readSmall of %d bytes into %d: no error", statSize+1, statSize)
	}
	pids, err := NumberedEntries("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if _, err := ReadStat(pid); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("ReadStat(%d): %v", pid, err)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 0 0"))
	f.Add([]byte("7 (a (b) c) Z 3 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseStat(b)
		if err != nil {
			return
		}
		// What parsed must say the same when written back the kernel's way.
		again := strconv.Itoa(p.PID) + " (" + p.Comm + ") " + string([]byte{p.State}) + " " + strconv.Itoa(p.PPID) +
			" " + strconv.Itoa(p.Pgrp) + " 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 " + strconv.FormatUint(p.Start, 10)
		q, err := ParseStat([]byte(again))
		if err != nil || q != p {
			t.Fatalf("ParseStat(%q) = %+v, but its rewrite %q gives %+v, %v", b, p, again, q, err)
		}
	})
}
