package cli

import (
	"strings"
	"testing"
)

func TestDatabaseURLs(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "a", "LASTCALL_DB_URL": "b", "LASTCALL_DB": "c"}
	got := DatabaseURLs([]string{"--db-url=d", "--grace", "5s", "--", "psql", "x=y"}, func(k string) string { return env[k] })
	want := []string{"a", "b", "c", "--db-url=d", "d", "--grace", "5s", "--", "psql", "x=y"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DatabaseURLs = %q, want %q", got, want)
	}
}
