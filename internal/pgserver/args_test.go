package pgserver

import (
	"strconv"
	"strings"
	"testing"
)

func TestDataDirsFromArgs(t *testing.T) {
	tests := []struct {
		args string // NUL-separated, as in /proc/PID/cmdline
		want string // space-separated
	}{
		{"postgres\x00-D\x00/var/lib/postgresql/data", "/var/lib/postgresql/data"},
		{"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/postgresql/15/main\x00-c\x00config_file=/etc/postgresql/15/main/postgresql.conf", "/var/lib/postgresql/15/main"},
		{"postgres\x00-D/data", "/data"},
		{"postgres\x00-nD\x00/data", "/data"},
		{"postgres\x00-D\x00/first\x00-D\x00/second", "/second"},
		{"postgres\x00-D\x00/etc/pg\x00-c\x00data_directory=/srv/pg", "/srv/pg /etc/pg"},
		{"postgres\x00--data-directory=/srv/pg", "/srv/pg"},
		{"postgres\x00--data_directory=/srv/pg\x00-cdata_directory=/srv/other", "/srv/other"},
		{"postgres\x00-c\x00-D\x00-p\x005432", ""},       // -c takes "-D" as its value
		{"postgres\x00-p\x00-D\x00-D\x00/data", "/data"}, // -p takes the first "-D"
		{"postgres\x00data\x00-D\x00rel/data", "rel/data"},
		{"postgres\x00--\x00-D\x00/data", ""},
		{"postgres\x00-D", ""},
		{"postgres\x00-c\x00shared_buffers=1GB", ""},
		{"postgres", ""},
		{"postgres: checkpointer ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got := strings.Join(dataDirsFromArgs(splitNUL([]byte(tt.args+"\x00"))), " ")
		if got != tt.want {
			t.Errorf("dataDirsFromArgs(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

func FuzzDataDirsFromArgs(f *testing.F) {
	f.Add([]byte("postgres\x00-D\x00/data\x00-c\x00data_directory=/srv\x00"))
	f.Add([]byte("postgres\x00-bD/x\x00--data-directory=/y\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		args := splitNUL(b)
		dirs := dataDirsFromArgs(args)
		// A directory is the tail of one of the arguments, never made up.
		for _, dir := range dirs {
			if !tailOfAny(dir, args) || dir == "" {
				t.Fatalf("dataDirsFromArgs(%q) = %q: %q is no argument's tail", args, dirs, dir)
			}
		}
		if len(dirs) > 2 {
			t.Fatalf("dataDirsFromArgs(%q) = %q: more than a setting and a -D", args, dirs)
		}
	})
}

func tailOfAny(s string, args []string) bool {
	for _, a := range args {
		if strings.HasSuffix(a, s) {
			return true
		}
	}
	return false
}

func TestLookupEnv(t *testing.T) {
	tests := []struct {
		environ string
		want    string
		wantOK  bool
	}{
		{"HOME=/root\x00PGDATA=/data\x00", "/data", true},
		{"PGDATA=/first\x00PGDATA=/second\x00", "/first", true},
		{"PGDATA=\x00", "", true},
		{"PGDATAX=/no\x00XPGDATA=/no\x00PGDATA\x00", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := lookupEnv(splitNUL([]byte(tt.environ)), "PGDATA")
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("lookupEnv(%q) = %q, %v; want %q, %v", tt.environ, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestParsePidFile(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"4242\n/var/lib/postgresql/data\n1700000000\n5432\n/tmp\n*\n  1234567     98304\nready   \n", 4242},
		{"-4242\n/data\n", -4242},
		{"4242", 4242},
		{" 4242 \n", 4242},
		{"\n4242\n", 0},
		{"pid\n", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := parsePidFile([]byte(tt.in)); got != tt.want {
			t.Errorf("parsePidFile(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func FuzzParsePidFile(f *testing.F) {
	f.Add([]byte("4242\n/data\n"))
	f.Add([]byte("-1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		line, _, _ := strings.Cut(string(b), "\n")
		want, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			want = 0
		}
		if got := parsePidFile(b); got != want {
			t.Fatalf("parsePidFile(%q) = %d; its first line %q says %d", b, got, line, want)
		}
	})
}
