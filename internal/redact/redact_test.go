package redact

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
		// Where the input has no escapes (backslash, percent), the password
		// is written as itself, so it is one of its text's occurrences in
		// the input, and redacting it leaves at least one fewer. With an
		// escape the same text may stand only in another field:
		// "password=000\000000 x=0000000000" holds "000000000" once, in x.
		pw := cfg.Password
		if len(pw) >= minScrub && !strings.Contains(Mask, pw) && !strings.ContainsAny(dsn, `\%`) &&
			strings.Contains(dsn, pw) && strings.Count(out, pw) >= strings.Count(dsn, pw) {
			t.Fatalf("Redact(%q) = %q still holds the password %q", dsn, out, pw)
		}
	})
}
