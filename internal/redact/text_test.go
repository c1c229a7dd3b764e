package redact

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`signal list "postgres://u:ab1@h/db": bad`, `signal list "postgres://u:xxxxx@h/db": bad`},
		{`--postgres://u:Zebra9876@h/db`, `--postgres://u:xxxxx@h/db`},
		{`unknown flag --postgres://u:a@h/db: see`, `unknown flag --postgres://u:xxxxx@h/db: see`},
		{`x "host=db password=ab user=u"`, `x "host=db password=xxxxx user=u"`},
		{`password='a b' user=u`, `password='xxxxx' user=u`},
		{`PASSWORD = z1 x`, `PASSWORD = xxxxx x`},
		{`postgres://h/db?sslpassword=q&password=r`, `postgres://h/db?sslpassword=xxxxx&password=xxxxx`},
		{`mypassword=keep`, `mypassword=keep`},
		{`no secrets at all: 143:0`, `no secrets at all: 143:0`},
		{`http://h:80/x`, `http://h:80/x`},
		{`a://u:@h`, `a://u:@h`},
		{`POSTGRES://u:p@h/db and redis://:s3@r`, `POSTGRES://u:xxxxx@h/db and redis://:xxxxx@r`},
		{`no group "//u:q@h/db"`, `no group "//u:xxxxx@h/db"`},
		{``, ``},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzText: whatever the text, a one-byte password after scheme://user:
// and before @ never survives.
func FuzzText(f *testing.F) {
	f.Add("prefix ", "z", " suffix")
	f.Fuzz(func(t *testing.T, pre, pw, post string) {
		if pw == "" || strings.ContainsAny(pw, "@/?#:\"'`, \t\n)") || strings.Contains(pre+post, pw) {
			return
		}
		in := pre + " postgres://user:" + pw + "@host/db " + post
		if got := Text(in); strings.Contains(got, ":"+pw+"@") {
			t.Fatalf("Text(%q) = %q keeps the password", in, got)
		}
	})
}
