package pgconn

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/lib/pq"
)

func TestUnsupportedPGEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"none", []string{"PATH=/bin", "PGHOST=db", "PGAPPNAME=x", "PGSSLMODE=require"}, nil},
		{"some, in order, once", []string{"PGSSLCRL=/x", "HOME=/", "PGGSSENCMODE=disable", "PGSSLCRL=/y"}, []string{"PGSSLCRL", "PGGSSENCMODE"}},
		{"empty value counts", []string{"PGCHANNELBINDING="}, []string{"PGCHANNELBINDING"}},
		{"prefix is not the name", []string{"PGSSLCRLX=1", "XPGREALM=1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UnsupportedPGEnv(tc.env); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("UnsupportedPGEnv(%q) = %q; want %q", tc.env, got, tc.want)
			}
		})
	}
}

// TestUnsupportedPGEnvMatchesLibPQ: each variable named makes lib/pq's
// NewConfig fail, and the supported ones do not.
func TestUnsupportedPGEnvMatchesLibPQ(t *testing.T) {
	clearPGEnv(t)
	for _, name := range unsupportedPGEnv {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, "")
			if _, err := pq.NewConfig("host=/tmp"); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("lib/pq with %s set: %v; want an error naming it", name, err)
			}
		})
	}
	for _, name := range []string{"PGHOST", "PGAPPNAME", "PGSSLMODE", "PGPASSFILE", "PGTARGETSESSIONATTRS"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, map[string]string{"PGSSLMODE": "prefer", "PGTARGETSESSIONATTRS": "any"}[name])
			if _, err := pq.NewConfig("host=/tmp"); err != nil || UnsupportedPGEnv(os.Environ()) != nil {
				t.Errorf("lib/pq with %s set: %v; want no error, and none named", name, err)
			}
		})
	}
}

func TestCheckPQGODebug(t *testing.T) {
	tests := []struct {
		env  []string
		want error
	}{
		{[]string{"PQGO_DEBUG=1"}, ErrPQGODebug},
		{[]string{"A=b", "PQGO_DEBUG=1"}, ErrPQGODebug},
		{[]string{"PQGO_DEBUG=0"}, nil},
		{[]string{"PQGO_DEBUG="}, nil},
		{nil, nil},
	}
	for _, tc := range tests {
		if err := CheckPQGODebug(tc.env); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("CheckPQGODebug(%q) = %v; want %v", tc.env, err, tc.want)
		}
	}
}
