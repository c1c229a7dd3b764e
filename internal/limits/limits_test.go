package limits

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openSet is a fake descriptor table: the listed descriptors are open.
func openSet(fds ...int) func(int) bool {
	return func(fd int) bool {
		for _, f := range fds {
			if f == fd {
				return true
			}
		}
		return false
	}
}

func TestDescriptors(t *testing.T) {
	tests := []struct {
		name  string
		limit uint64
		open  []int
		need  int
		want  string // "" or what the line must contain
	}{
		{"std and the runtime's two, at the minimum", 9, []int{0, 1, 2, 3, 4}, 4, ""},
		{"one below", 8, []int{0, 1, 2, 3, 4}, 4, "RLIMIT_NOFILE is 8, lastcall needs at least 9 (5 descriptors open and 4 more)"},
		{"the runtime could not open its files", 3, []int{0, 1, 2}, 4, "RLIMIT_NOFILE is 3, lastcall needs at least 7"},
		{"an inherited descriptor above the std ones", 9, []int{0, 1, 2, 3, 4, 5}, 4, "needs at least 10 (6 descriptors open"},
		{"an inherited descriptor above the limit takes no slot", 9, []int{0, 1, 2, 3, 4, 100}, 4, ""},
		{"a hole below the limit is a free slot", 9, []int{0, 1, 2, 4, 6}, 4, ""},
		{"socket-activated", 9, []int{0, 1, 2, 3}, 6, "needs at least 10"},
		{"a huge limit", 1 << 40, []int{0, 1, 2}, 4, ""},
		{"no limit left at all", 0, nil, 4, "RLIMIT_NOFILE is 0, lastcall needs at least 4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := descriptors(tc.limit, tc.need, openSet(tc.open...))
			if (got == "") != (tc.want == "") || !strings.Contains(got, tc.want) {
				t.Errorf("descriptors(%d, %d, %v) = %q, want %q", tc.limit, tc.need, tc.open, got, tc.want)
			}
		})
	}
}

// descriptors stops counting once enough are free: a high limit costs a
// few probes, not one per possible descriptor.
func TestDescriptorsProbesFew(t *testing.T) {
	probes := 0
	open := openSet(0, 1, 2, 3, 4)
	if got := descriptors(1<<20, 4, func(fd int) bool { probes++; return open(fd) }); got != "" {
		t.Fatalf("refused: %q", got)
	}
	if probes != 9 {
		t.Errorf("%d probes, want 9 (5 open, 4 free)", probes)
	}
}

func TestThreads(t *testing.T) {
	tests := []struct {
		limit   uint64
		procs   int
		refused bool
		fit     int
	}{
		{9, 1, true, 1},
		{10, 1, false, 1},
		{4, 2, true, 2},
		{10, 2, false, 1},
		{11, 2, false, 1},
		{12, 2, false, 2},
		{13, 4, false, 3},
		{14, 4, false, 4},
		{11, 64, false, 1},
		{1 << 62, 64, false, 64},
	}
	for _, tc := range tests {
		line, fit := threads(tc.limit, tc.procs)
		if (line != "") != tc.refused || fit != tc.fit {
			t.Errorf("threads(%d, %d) = %q, %d; want refused %v, GOMAXPROCS %d", tc.limit, tc.procs, line, fit, tc.refused, tc.fit)
		}
		if tc.refused && !strings.HasPrefix(line, "RLIMIT_NPROC is ") {
			t.Errorf("threads(%d, %d) = %q, want it to name RLIMIT_NPROC", tc.limit, tc.procs, line)
		}
	}
}

func TestParseUIDMap(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		uid     int
		outer   int
		initial bool
		found   bool
	}{
		{"initial namespace, root", "         0          0 4294967295\n", 0, 0, true, true},
		{"initial namespace, a user", "         0          0 4294967295\n", 1000, 1000, true, true},
		{"--map-root-user by root", "         0          0          1\n", 0, 0, false, true},
		{"--map-root-user by a user", "         0       1000          1\n", 0, 1000, false, true},
		{"rootless, a subuid range", "0 1000 1\n1 100000 65536\n", 33, 100032, false, true},
		{"unmapped", "0 1000 1\n", 5, 0, false, false},
		{"empty", "", 0, 0, false, false},
		{"garbage", "x y z\n", 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outer, initial, found := parseUIDMap(tc.text, tc.uid)
			if outer != tc.outer || initial != tc.initial || found != tc.found {
				t.Errorf("parseUIDMap(%q, %d) = %d, %v, %v; want %d, %v, %v", tc.text, tc.uid, outer, initial, found, tc.outer, tc.initial, tc.found)
			}
		})
	}
}

func TestItoa(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 10: "10", 65534: "65534", -3: "-3"} {
		if got := itoa(n); got != want {
			t.Errorf("itoa(%d) = %q, want %q", n, got, want)
		}
	}
	if got := utoa(1<<64 - 1); got != "18446744073709551615" {
		t.Errorf("utoa(max) = %q", got)
	}
}
