package pgconn

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestNewTag(t *testing.T) {
	a, b := NewTag(), NewTag()
	if !regexp.MustCompile(`^lastcall-[0-9a-f]{8}$`).MatchString(a) || a == b {
		t.Errorf("NewTag() = %q, then %q; want lastcall-<8 hex>, different each time", a, b)
	}
}

func TestTagEnv(t *testing.T) {
	tests := []struct {
		name         string
		env          []string
		want         []string
		wantInjected bool
	}{
		{"added", []string{"PATH=/bin"}, []string{"PATH=/bin", "PGAPPNAME=lastcall-1"}, true},
		{"empty env", nil, []string{"PGAPPNAME=lastcall-1"}, true},
		{"the user's wins", []string{"PGAPPNAME=web", "PATH=/bin"}, []string{"PGAPPNAME=web", "PATH=/bin"}, false},
		{"set but empty is the user's", []string{"PGAPPNAME="}, []string{"PGAPPNAME="}, false},
		{"a longer name is not it", []string{"PGAPPNAMES=x"}, []string{"PGAPPNAMES=x", "PGAPPNAME=lastcall-1"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append(make([]string, 0, len(tc.env)+4), tc.env...) // room to append in place
			got, injected := TagEnv(in, "lastcall-1")
			if !reflect.DeepEqual(got, tc.want) || injected != tc.wantInjected {
				t.Errorf("TagEnv(%q) = %q, %v; want %q, %v", tc.env, got, injected, tc.want, tc.wantInjected)
			}
			if in = in[:cap(in)]; in[len(tc.env)] != "" {
				t.Errorf("TagEnv wrote into the caller's array: %q", in)
			}
		})
	}
}

func TestCutAppName(t *testing.T) {
	long := strings.Repeat("a", 70)
	tests := []struct{ in, want string }{
		{"lastcall-0123abcd", "lastcall-0123abcd"},
		{long, long[:63]},
		{strings.Repeat("a", 62) + "é", strings.Repeat("a", 62)}, // é is 2 bytes: not split
		{strings.Repeat("a", 61) + "é", strings.Repeat("a", 61) + "é"},
	}
	for _, tc := range tests {
		if got := cutAppName(tc.in); got != tc.want {
			t.Errorf("cutAppName(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
