package redact

import (
	"strings"

	"github.com/lastcall-dev/lastcall/internal/connstr"
)

// Text masks every password that free text shows by its structure, of any
// length, wherever it stands: the userinfo password of anything shaped like
// a URL (scheme://user:PASSWORD@host, or a piece of one that a parser
// cut after its scheme: //user:PASSWORD@host), and the value of every password= or
// sslpassword= (a URL's query parameter or key=value text, quoted or not).
// It is for messages that may quote a connection string in part or whole,
// inside quotes or not (a parser's error quoting its input, a flag name
// that is a URL); Redact is for a connection string itself.
func Text(msg string) string {
	var spans []span
	for i := 0; ; {
		j := strings.Index(msg[i:], "//")
		if j < 0 {
			break
		}
		spans = append(spans, userinfoPassword(msg, i+j+2)...)
		i += j + 2
	}
	spans = append(spans, passwordValues(msg)...)
	if len(spans) == 0 {
		return msg
	}
	var b strings.Builder
	last := 0
	for _, s := range mergeSpans(spans) {
		b.WriteString(msg[last:s.Start])
		b.WriteString(Mask)
		last = s.End
	}
	b.WriteString(msg[last:])
	return b.String()
}

// textEnd reports whether c ends a URL or a value in free text.
func textEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '`' || c == ',' || c == ')'
}

// userinfoPassword finds the password of an authority that starts at
// start: up to the last @ before the first /, ?, # or end of the URL.
func userinfoPassword(msg string, start int) []span {
	end := start
	for end < len(msg) && !textEnd(msg[end]) && !strings.ContainsRune("/?#", rune(msg[end])) {
		end++
	}
	at := strings.LastIndexByte(msg[start:end], '@')
	if at < 0 {
		return nil
	}
	colon := strings.IndexByte(msg[start:start+at], ':')
	if colon < 0 || colon+1 == at {
		return nil
	}
	return []span{{Start: start + colon + 1, End: start + at}}
}

// passwordValues finds the values of password= and sslpassword= in msg,
// key matched in any case: a quoted value to its closing quote, else up to
// &, ;, or the end of the word.
func passwordValues(msg string) []span {
	var spans []span
	lower := strings.ToLower(msg)
	for i := 0; ; {
		j := strings.Index(lower[i:], "password")
		if j < 0 {
			return spans
		}
		k := i + j + len("password")
		i = k
		for k < len(msg) && msg[k] == ' ' {
			k++
		}
		if k >= len(msg) || msg[k] != '=' || !connstr.IsPasswordKey(keyBefore(lower, i)) {
			continue
		}
		k++
		for k < len(msg) && msg[k] == ' ' {
			k++
		}
		if k < len(msg) && msg[k] == '\'' {
			if e := strings.IndexByte(msg[k+1:], '\''); e > 0 {
				spans = append(spans, span{Start: k + 1, End: k + 1 + e})
				continue
			}
			k++
		}
		v := k
		for v < len(msg) && !textEnd(msg[v]) && msg[v] != '&' && msg[v] != ';' {
			v++
		}
		if v > k {
			spans = append(spans, span{Start: k, End: v})
		}
	}
}

// keyBefore is the word that ends at end: "password" or "sslpassword"
// when the key is one.
func keyBefore(lower string, end int) string {
	start := end - len("password")
	if start >= 3 && lower[start-3:start] == "ssl" {
		start -= 3
	}
	if start > 0 {
		if c := lower[start-1]; c >= 'a' && c <= 'z' || c == '_' {
			return "" // part of a longer word: mypassword=
		}
	}
	return lower[start:end]
}
