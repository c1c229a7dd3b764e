package healthcheck

import (
	"os"
	"strings"
	"testing"

	"github.com/lib/pq"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cret@db:5432/app?sslmode=disable", "postgres://app:xxxxx@db:5432/app?sslmode=disable"},
		{"postgresql://app:s3cret@db/app", "postgresql://app:xxxxx@db/app"},
		{"postgres://app:p%40ss@db/app", "postgres://app:xxxxx@db/app"},
		{"postgres://app:p@ss@db/app", "postgres://app:xxxxx@db/app"},
		{"postgres://app@db/app", "postgres://app@db/app"},
		{"postgres://app:@db/app", "postgres://app:@db/app"},
		{"postgres://db/app?user=app&password=s3cret&sslmode=require", "postgres://db/app?user=app&password=xxxxx&sslmode=require"},
		{"postgres://db/app?PASSWORD=s3cret", "postgres://db/app?PASSWORD=xxxxx"},
		{"postgres://app:s3cret@db/app#frag:x@y", "postgres://app:xxxxx@db/app#frag:x@y"},
		{"postgres://app:s3cret@db?x=1", "postgres://app:xxxxx@db?x=1"},
		{"POSTGRES://app:s3cret@db/app", "POSTGRES://app:xxxxx@db/app"},
		{"host=db user=app password=s3cret dbname=app", "host=db user=app password=xxxxx dbname=app"},
		{"host=db password='with spaces' user=app", "host=db password='xxxxx' user=app"},
		{`password='it\'s a secret' host=db`, `password='xxxxx' host=db`},
		{`password=with\ space host=db`, `password=xxxxx host=db`},
		{"password = s3cret host=db", "password = xxxxx host=db"},
		{"password= host=db", "password= xxxxx"}, // lib/pq reads "host=db" as the password
		{"password='' host=db", "password='' host=db"},
		{"sslpassword=keypass host=db", "sslpassword=xxxxx host=db"},
		{"password='unterminated host=db", "password='xxxxx"},
		{"password=two words", "password=xxxxx xxxxx"}, // malformed after a password: the rest is masked
		{"host=db", "host=db"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubbedConfigErrors(t *testing.T) {
	tests := []struct{ name, dsn, password string }{
		{"bad port", "postgres://app:hunter2secret@db:port/app", "hunter2secret"},
		{"bad escape", "postgres://app:hunter2%zzsecret@db/app", "hunter2%zzsecret"},
		{"unquoted spaces", "host=db password=hunter2 secret", "secret"},
		{"bad sslmode", "postgres://app:hunter2secret@db/app?sslmode=sometimes", "hunter2secret"},
		{"mistyped scheme", "POSTGRES://app:hunter2secret@db/app", "hunter2secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pq.NewConfig(tc.dsn)
			if err == nil {
				t.Fatalf("lib/pq accepts %q: this case tests nothing", tc.dsn)
			}
			got := configError(tc.dsn, err).Error()
			if strings.Contains(got, tc.password) || strings.Contains(got, "hunter2") {
				t.Errorf("configError(%q) = %q, holds the password (lib/pq said %q)", tc.dsn, got, err)
			}
		})
	}
}

// FuzzRedact checks that Redact never panics and that, whenever lib/pq
// parses the input, the redacted DSN still parses and its password is the
// mask, and the password's text is gone from it.
func FuzzRedact(f *testing.F) {
	for _, seed := range []string{
		"postgres://app:s3cret@db:5432/app?sslmode=disable",
		"postgres://db/app?password=s3cret&password=other",
		"host=db user=app password='with spaces' dbname=app",
		`password=with\ space host=db`,
		"password= host=db",
	} {
		f.Add(seed)
	}
	for _, k := range os.Environ() {
		if strings.HasPrefix(k, "PG") {
			f.Skip("PG* variables in the environment change what lib/pq parses")
		}
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		out := Redact(dsn)
		cfg, err := pq.NewConfig(dsn)
		if err != nil || cfg.Password == "" {
			return
		}
		redacted, err := pq.NewConfig(out)
		if err != nil {
			t.Fatalf("Redact(%q) = %q, which lib/pq rejects: %v", dsn, out, err)
		}
		if redacted.Password != Mask {
			t.Fatalf("Redact(%q) = %q, whose password lib/pq reads as %q, want %q", dsn, out, redacted.Password, Mask)
		}
		pw := cfg.Password
		if len(pw) >= minScrub && !strings.Contains(Mask, pw) && strings.Count(dsn, pw) == 1 && strings.Contains(out, pw) {
			t.Fatalf("Redact(%q) = %q still holds the password %q", dsn, out, pw)
		}
	})
}

// FuzzUsesDefaultHost holds usesDefaultHost on key=value text to lib/pq:
// whenever lib/pq parses the input, it says yes exactly when one of the
// hosts lib/pq reads takes PGHOST, or is empty, with no hostaddr of the
// text's own (an empty or absent host means the default: libpq's unix
// socket). URLs are left to TestNamesHost: lib/pq reads a URL's host list
// its own way.
func FuzzUsesDefaultHost(f *testing.F) {
	for _, seed := range []string{
		"host=db user=app", "user=app hostaddr=10.0.0.1", "user=app host=", "host=db host=",
		"user=app password='x host=db'", "host='' user=app", `host=\  user=app`, "host=,db", "host=a,b port=1,2",
	} {
		f.Add(seed)
	}
	for _, k := range os.Environ() {
		if strings.HasPrefix(k, "PG") {
			f.Skip("PG* variables in the environment change what lib/pq parses")
		}
	}
	const markerHost, markerAddr = "/fuzz-host-marker", "192.0.2.1"
	f.Fuzz(func(t *testing.T, dsn string) {
		plain, err := pq.NewConfig(dsn)
		if err != nil || isLibpqURL(dsn) {
			return
		}
		got := usesDefaultHost(dsn, append([]pq.ConfigMultihost{{Host: plain.Host, Hostaddr: plain.Hostaddr}}, plain.Multi...), "")
		t.Setenv("PGHOST", markerHost)
		t.Setenv("PGHOSTADDR", markerAddr)
		withEnv, err := pq.NewConfig(dsn)
		if err != nil {
			return
		}
		want := false
		for _, h := range append([]pq.ConfigMultihost{{Host: withEnv.Host, Hostaddr: withEnv.Hostaddr}}, withEnv.Multi...) {
			noHost := h.Host == "" || h.Host == markerHost
			noAddr := !h.Hostaddr.IsValid() || h.Hostaddr.String() == markerAddr
			want = want || (noHost && noAddr)
		}
		if got != want {
			t.Fatalf("usesDefaultHost(%q) = %v, want %v: lib/pq reads host %q hostaddr %v %+v (with PGHOST and PGHOSTADDR set: %q %v %+v)",
				dsn, got, want, plain.Host, plain.Hostaddr, plain.Multi, withEnv.Host, withEnv.Hostaddr, withEnv.Multi)
		}
	})
}
