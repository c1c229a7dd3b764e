package redact

import (
	"github.com/lastcall-dev/lastcall/internal/connstr"

	"net/url"
	"slices"
	"strings"
	"unicode"
)

// Mask replaces a password in a redacted DSN.
const Mask = "xxxxx"

// minScrub is the shortest password scrubbed from free text (error messages):
// shorter ones would also match ordinary words.
const minScrub = 4

// span is a password value in a DSN.
type span = connstr.Span

// Redact returns dsn with every password value replaced by [Mask], for logs
// and error messages. It takes both forms lib/pq does:
//
//	postgres://user:PASSWORD@host/db?sslmode=disable&password=PASSWORD
//	host=db user=app password=PASSWORD
//	host=db user=app password='PASS WORD'
//
// It splits a URL where net/url does (userinfo up to the last @ before the
// first /, ? or #) and scans key=value text as lib/pq does (quotes, backslash
// escapes), so a password is found where lib/pq would find it. Keys match
// case-insensitively, and sslpassword counts as a password. When key=value
// text is malformed right after a password, the rest of it is masked. The
// rest of dsn is returned byte for byte.
func Redact(dsn string) string {
	spans := passwordSpans(dsn)
	if len(spans) == 0 {
		return dsn
	}
	var b strings.Builder
	last := 0
	for _, s := range spans {
		b.WriteString(dsn[last:s.Start])
		b.WriteString(Mask)
		last = s.End
	}
	b.WriteString(dsn[last:])
	return b.String()
}

// passwordSpans finds the non-empty password values of dsn, in order. A dsn
// that lib/pq reads as a URL is split as a URL; anything else is scanned as
// key=value text and, when it starts like a URL (a mistyped scheme), split as
// a URL too.
func passwordSpans(dsn string) []span {
	n := schemeLen(dsn)
	if connstr.IsURL(dsn) {
		return urlPasswordSpans(dsn, n)
	}
	spans, _ := connstr.KeyValuePasswords(dsn)
	if n > 0 {
		// lib/pq reads this text as key=value, where a space ends a value:
		// the URL's query values end there too, so that a password pair
		// after the space keeps its own mask.
		for _, u := range urlPasswordSpans(dsn, n) {
			if i := strings.IndexFunc(dsn[u.Start:u.End], unicode.IsSpace); i >= 0 && u.Start > strings.IndexByte(dsn, '?') {
				u.End = u.Start + i
			}
			spans = append(spans, u)
		}
		spans = mergeSpans(spans)
	}
	return spans
}

// mergeSpans sorts spans and joins the ones that overlap.
func mergeSpans(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.Start - b.Start })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

// Secrets lists every form of dsn's passwords that might show up in an error
// message: each value as written and decoded, plus extra (PGPASSWORD, or
// lib/pq's parsed password). Values shorter than minScrub are left out.
func Secrets(dsn string, extra ...string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= minScrub {
			out = append(out, s)
		}
	}
	for _, s := range passwordSpans(dsn) {
		raw := dsn[s.Start:s.End]
		add(raw)
		if v, err := url.PathUnescape(raw); err == nil && v != raw {
			add(v)
		}
		if v, err := url.QueryUnescape(raw); err == nil && v != raw {
			add(v)
		}
		if v := unescapeKeyValue(raw); v != raw {
			add(v)
		}
	}
	for _, s := range extra {
		add(s)
	}
	return out
}

// Scrub returns msg with every form of the passwords of dsns masked: for
// a message that may quote a database URL given where it does not belong
// (a parser's error quoting its input). Passwords shorter than four bytes
// are left alone here, since they would match ordinary words; Redact the
// URL itself before quoting it.
func Scrub(msg string, dsns ...string) string {
	return Replace(msg, secretsOf(dsns))
}

// secretsOf lists every form of the passwords of dsns (see secrets).
func secretsOf(dsns []string) []string {
	var known []string
	for _, dsn := range dsns {
		known = append(known, Secrets(dsn)...)
	}
	return known
}

// Replace replaces every secret in msg by Mask.
func Replace(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, Mask)
	}
	return msg
}

// schemeLen is the length of a leading "scheme://" (any scheme, any case:
// a mistyped POSTGRES:// still carries a password), or 0.
func schemeLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':' && strings.HasPrefix(s[i:], "://"):
			return i + 3
		default:
			return 0
		}
	}
	return 0
}

// urlPasswordSpans finds the password in the userinfo of a URL whose
// authority starts at byte start, and the values of password query
// parameters.
func urlPasswordSpans(dsn string, start int) []span {
	var spans []span
	end := len(dsn)
	if i := strings.IndexByte(dsn, '#'); i >= 0 {
		end = i // net/url cuts the fragment first
	}
	authEnd := end
	if i := strings.IndexAny(dsn[start:end], "/?"); i >= 0 {
		authEnd = start + i
	}
	if at := strings.LastIndexByte(dsn[start:authEnd], '@'); at >= 0 {
		if colon := strings.IndexByte(dsn[start:start+at], ':'); colon >= 0 && colon+1 < at {
			spans = append(spans, span{Start: start + colon + 1, End: start + at})
		}
	}
	q := strings.IndexByte(dsn[start:end], '?')
	if q < 0 {
		return spans
	}
	pos := start + q + 1
	for pos <= end {
		next := end
		if i := strings.IndexAny(dsn[pos:end], "&;"); i >= 0 {
			next = pos + i
		}
		if key, _, ok := strings.Cut(dsn[pos:next], "="); ok && connstr.IsPasswordKey(queryKey(key)) {
			valStart := pos + len(key) + 1
			if valStart < next {
				spans = append(spans, span{Start: valStart, End: next})
			}
		}
		pos = next + 1
	}
	return spans
}

// queryKey is a query parameter's key as lib/pq reads it: unescaped, and
// trimmed, since lib/pq turns the URL into key=value text, which skips
// spaces around keys.
func queryKey(raw string) string {
	if k, err := url.QueryUnescape(raw); err == nil {
		raw = k
	}
	return strings.TrimFunc(raw, unicode.IsSpace)
}

// unescapeKeyValue drops the backslashes of a key=value value, as lib/pq does.
func unescapeKeyValue(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	escaped := false
	for _, r := range raw {
		if r == '\\' && !escaped {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}
