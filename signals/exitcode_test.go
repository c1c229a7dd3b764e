package signals

import (
	"maps"
	"syscall"
	"testing"
)

// Raw wait statuses as Linux's wait4 reports them: the exit code in bits
// 8-15, the killing signal in bits 0-6 with 0x80 for a core dump, 0x7f in
// the low byte for a stopped child, and 0xffff for a continued one.
func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		ws   syscall.WaitStatus
		want int
	}{
		{"exit 0", 0x0000, 0},
		{"exit 1", 0x0100, 1},
		{"exit 42", 0x2a00, 42},
		{"exit 255", 0xff00, 255},
		{"killed by SIGKILL", 0x0009, 137},
		{"killed by SIGTERM", 0x000f, 143},
		{"killed by SIGINT", 0x0002, 130},
		{"killed by SIGSEGV, core dumped", 0x008b, 139},
		{"killed by SIGRTMAX", 0x0040, 192},
		{"stopped by SIGSTOP", 0x137f, -1},
		{"stopped by SIGTSTP", 0x147f, -1},
		{"continued", 0xffff, -1},
	}
	for _, tt := range tests {
		got := ExitCode(tt.ws)
		expect(t, got == tt.want, "ExitCode(%#x) (%s) = %d, want %d", uint32(tt.ws), tt.name, got, tt.want)
	}
}

func TestParseRemap(t *testing.T) {
	tests := []struct {
		in       string
		from, to int
		wantErr  string
	}{
		{in: "143:0", from: 143, to: 0},
		{in: "0:1", from: 0, to: 1},
		{in: "255:255", from: 255, to: 255},
		{in: " 130:0\t", from: 130, to: 0},
		{in: "0143:000", from: 143, to: 0},
		{in: "", wantErr: "empty exit-code remap (want FROM:TO, each a number 0-255, like 143:0)"},
		{in: "143", wantErr: `exit-code remap "143" has no colon (want FROM:TO, each a number 0-255, like 143:0)`},
		{in: "143:", wantErr: `exit-code remap "143:": TO is missing (want FROM:TO`},
		{in: ":0", wantErr: `exit-code remap ":0": FROM is missing (want FROM:TO`},
		{in: ":", wantErr: `exit-code remap ":": FROM is missing`},
		{in: "a:b", wantErr: `exit-code remap "a:b": FROM "a" is not a number 0-255 (want FROM:TO`},
		{in: "1:b", wantErr: `exit-code remap "1:b": TO "b" is not a number 0-255`},
		{in: "256:0", wantErr: `exit-code remap "256:0": FROM "256" is not a number 0-255`},
		{in: "0:256", wantErr: `exit-code remap "0:256": TO "256" is not a number 0-255`},
		{in: "99999999999999999999:0", wantErr: `FROM "99999999999999999999" is not a number 0-255`},
		{in: "-1:0", wantErr: `FROM "-1" is not a number 0-255`},
		{in: "+1:0", wantErr: `FROM "+1" is not a number 0-255`},
		{in: "1:+0", wantErr: `TO "+0" is not a number 0-255`},
		{in: "143 : 0", wantErr: `FROM "143 " is not a number 0-255`},
		{in: "1:2:3", wantErr: `TO "2:3" is not a number 0-255`},
		{in: "143:0,130:0", wantErr: `TO "0,130:0" is not a number 0-255`},
		{in: "0x8f:0", wantErr: `FROM "0x8f" is not a number 0-255`},
	}
	for _, tt := range tests {
		from, to, err := ParseRemap(tt.in)
		expect(t, from == tt.from && to == tt.to && errMatches(err, tt.wantErr),
			"ParseRemap(%q) = %d, %d, %v; want %d, %d, error %q", tt.in, from, to, err, tt.from, tt.to, tt.wantErr)
	}
}

func TestRemapAdd(t *testing.T) {
	tests := []struct {
		name    string
		start   Remap
		in      string
		want    Remap
		wantErr string
	}{
		{"one", Remap{}, "143:0", Remap{143: 0}, ""},
		{"list", Remap{}, "143:0,130:0", Remap{143: 0, 130: 0}, ""},
		{"list with spaces", Remap{}, " 143:0 , 130:0 ", Remap{143: 0, 130: 0}, ""},
		{"to an existing table", Remap{1: 0}, "143:0", Remap{1: 0, 143: 0}, ""},
		{"same pair twice", Remap{}, "143:0,143:0", Remap{143: 0}, ""},
		{"same pair as the table", Remap{143: 0}, "143:0", Remap{143: 0}, ""},
		{"identity", Remap{}, "0:0", Remap{0: 0}, ""},
		{"conflict in the list", Remap{}, "143:0,143:1", Remap{},
			`exit-code remap "143:1": 143 already maps to 0 (give each FROM once)`},
		{"conflict with the table", Remap{143: 0}, "1:2,143:1", Remap{143: 0},
			`exit-code remap "143:1": 143 already maps to 0`},
		{"empty", Remap{}, "", Remap{}, "empty exit-code remap (want FROM:TO"},
		{"empty item", Remap{}, "143:0,", Remap{},
			`exit-code remap list "143:0," has an empty item (want FROM:TO, each a number 0-255, like 143:0)`},
		{"empty middle item", Remap{}, "143:0,,130:0", Remap{}, `exit-code remap list "143:0,,130:0" has an empty item`},
		{"bad item after a good one", Remap{7: 7}, "143:0,1:256", Remap{7: 7}, `exit-code remap "1:256": TO "256" is not a number 0-255`},
		{"out of range", Remap{}, "300:0", Remap{}, `FROM "300" is not a number 0-255`},
		{"no colon", Remap{}, "143", Remap{}, `exit-code remap "143" has no colon`},
	}
	for _, tt := range tests {
		r := maps.Clone(tt.start)
		err := r.Add(tt.in)
		expect(t, maps.Equal(r, tt.want) && errMatches(err, tt.wantErr),
			"%s: Remap%v.Add(%q) gives %v, %v; want %v, error %q", tt.name, tt.start, tt.in, r, err, tt.want, tt.wantErr)
	}
}

func TestRemapApply(t *testing.T) {
	chain := Remap{143: 0, 0: 1, 130: 130}
	tests := []struct {
		r    Remap
		code int
		want int
	}{
		{chain, 143, 0},
		{chain, 0, 1},
		{chain, 130, 130},
		{chain, 1, 1},
		{chain, 255, 255},
		{chain, -1, -1},
		{Remap{}, 143, 143},
		{nil, 143, 143},
	}
	for _, tt := range tests {
		got := tt.r.Apply(tt.code)
		expect(t, got == tt.want, "Remap%v.Apply(%d) = %d, want %d", tt.r, tt.code, got, tt.want)
	}
}
