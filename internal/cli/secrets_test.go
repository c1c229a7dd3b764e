package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestDatabaseURLs(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "a", "LASTCALL_DB_URL": "b", "LASTCALL_DB": "c"}
	got := DatabaseURLs([]string{"--db-url=d", "--grace", "5s", "--", "psql", "x=y"}, func(k string) string { return env[k] })
	want := []string{"a", "b", "c", "--db-url=d", "d", "--grace", "5s", "--", "psql", "x=y"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("DatabaseURLs = %q, want %q", got, want)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "db_url")
	if err := os.WriteFile(secret, []byte("postgres://app:s3cret@db/app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string // the URL resolved, or what the usage error says
		wantErr bool
	}{
		{"DATABASE_URL_FILE", map[string]string{"DATABASE_URL_FILE": secret}, "postgres://app:s3cret@db/app", false},
		{"LASTCALL_DB_URL_FILE", map[string]string{"LASTCALL_DB_URL_FILE": secret, "DATABASE_URL": "postgres://other"},
			"postgres://app:s3cret@db/app", false},
		{"the plain variable wins", map[string]string{"DATABASE_URL": "postgres://plain", "DATABASE_URL_FILE": secret},
			"postgres://plain", false},
		{"an empty plain variable counts as unset", map[string]string{"DATABASE_URL": "", "DATABASE_URL_FILE": secret},
			"postgres://app:s3cret@db/app", false},
		{"a missing file", map[string]string{"DATABASE_URL_FILE": filepath.Join(dir, "nope")},
			"DATABASE_URL_FILE: open " + filepath.Join(dir, "nope") + ": no such file or directory", true},
		{"a directory", map[string]string{"LASTCALL_DB_URL_FILE": dir}, "LASTCALL_DB_URL_FILE: read " + dir, true},
	}
	for _, tt := range tests {
		fs := pflag.NewFlagSet("lastcall", pflag.ContinueOnError)
		RegisterFlags(fs)
		tt.env["LASTCALL_DB_CHECK"] = "local"
		s, err := Resolve(fs, []string{"app"}, envMap(tt.env))
		got := s.DB.URL
		if err != nil {
			got = err.Error()
		}
		if (err != nil) != tt.wantErr || !strings.HasPrefix(got, tt.want) || strings.Contains(got, "s3cret") && tt.wantErr {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
