package signals

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{"TERM", "sigint", " 15 ", "0", "32", "65", "+15", "-1", "RTMIN+3", "RTMAX-31", "SIGRTMIN", "sıgterm", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		again, againErr := Parse(" \t" + s + "\n ")
		if sig != again || fmt.Sprint(err) != fmt.Sprint(againErr) {
			t.Errorf("Parse(%q) = %d, %v but with more space around it %d, %v", s, sig, err, again, againErr)
		}
		if err != nil {
			if sig != 0 || !strings.Contains(err.Error(), "(want ") {
				t.Errorf("Parse(%q) = %d, %v: want 0 and an error naming the accepted forms", s, sig, err)
			}
			if v := strings.TrimSpace(s); v != "" && !strings.Contains(err.Error(), strconv.Quote(v)) {
				t.Errorf("Parse(%q) error %q does not name the input", s, err)
			}
			return
		}
		if sig < 1 || sig > 64 || sig == 32 || sig == 33 {
			t.Fatalf("Parse(%q) = %d, outside 1-31 and 34-64", s, sig)
		}
		name := Name(sig)
		if back, err := Parse(name); back != sig || err != nil || strings.HasPrefix(name, "signal ") {
			t.Errorf("Parse(%q) = %d, but Parse(Name = %q) = %d, %v", s, sig, name, back, err)
		}
		if back, err := Parse(strconv.Itoa(int(sig))); back != sig || err != nil {
			t.Errorf("Parse(%q) = %d, but Parse(%d) = %d, %v", s, sig, sig, back, err)
		}
	})
}

func FuzzParseList(f *testing.F) {
	for _, s := range []string{"TERM,INT,QUIT", "TERM,15,sigterm", "TERM,", ",", "", " int , RTMIN+1 ", "TERM,,INT", "HUP,32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sigs, err := ParseList(s)
		if err != nil {
			if sigs != nil || !strings.Contains(err.Error(), "(want ") {
				t.Errorf("ParseList(%q) = %v, %v: want nil and an error naming the accepted forms", s, sigs, err)
			}
			return
		}
		items := strings.Split(s, ",")
		if len(sigs) == 0 || len(sigs) > len(items) {
			t.Fatalf("ParseList(%q) = %v from %d items", s, sigs, len(items))
		}
		for _, item := range items {
			sig, err := Parse(item)
			if err != nil || !slices.Contains(sigs, sig) {
				t.Errorf("ParseList(%q) = %v, but item %q parses to %d, %v", s, sigs, item, sig, err)
			}
		}
		names := make([]string, len(sigs))
		for i, sig := range sigs {
			names[i] = Name(sig)
		}
		joined := strings.Join(names, ",")
		if back, err := ParseList(joined); !slices.Equal(back, sigs) || err != nil {
			t.Errorf("ParseList(%q) = %v, but ParseList(%q) = %v, %v: duplicates left or order lost", s, sigs, joined, back, err)
		}
	})
}

func FuzzParseRemap(f *testing.F) {
	for _, s := range []string{"143:0", "0:0", "255:255", "256:0", "143:", ":0", "a:b", "1:2:3", " 130:0 ", "+1:0", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := ParseRemap(s)
		if err != nil {
			if from != 0 || to != 0 || !strings.Contains(err.Error(), "(want FROM:TO") {
				t.Errorf("ParseRemap(%q) = %d, %d, %v: want 0, 0 and an error naming the form", s, from, to, err)
			}
			return
		}
		if from < 0 || from > 255 || to < 0 || to > 255 {
			t.Fatalf("ParseRemap(%q) = %d, %d: outside 0-255", s, from, to)
		}
		pair := fmt.Sprintf("%d:%d", from, to)
		if f2, t2, err := ParseRemap(pair); f2 != from || t2 != to || err != nil {
			t.Errorf("ParseRemap(%q) = %d, %d, but ParseRemap(%q) = %d, %d, %v", s, from, to, pair, f2, t2, err)
		}
	})
}

// FuzzRemapAdd adds first and then second to one table: each Add either
// fails and leaves the table as it was, or holds every pair it was given.
func FuzzRemapAdd(f *testing.F) {
	f.Add("143:0", "130:0")
	f.Add("143:0,130:0", "143:0")
	f.Add("143:0", "143:1")
	f.Add("143:0,143:1", "")
	f.Add("1:2,", "0:0,0:0")
	f.Fuzz(func(t *testing.T, first, second string) {
		r := Remap{}
		for _, s := range []string{first, second} {
			before := maps.Clone(r)
			if err := r.Add(s); err != nil {
				if !maps.Equal(r, before) {
					t.Fatalf("Remap%v.Add(%q) failed with %v but changed the table to %v", before, s, err, r)
				}
				continue
			}
			checkAdded(t, before, r, s)
		}
	})
}

// checkAdded checks the table after Add(s) succeeded on before: every pair
// of s is in it, everything else came from before, and adding s again
// changes nothing.
func checkAdded(t *testing.T, before, r Remap, s string) {
	t.Helper()
	for item := range strings.SplitSeq(s, ",") {
		from, to, err := ParseRemap(item)
		if err != nil || r.Apply(from) != to {
			t.Errorf("Remap%v.Add(%q) = %v, but item %q parses to %d:%d, %v", before, s, r, item, from, to, err)
		}
	}
	for from, to := range r {
		if from < 0 || from > 255 || to < 0 || to > 255 {
			t.Errorf("Remap%v.Add(%q) = %v: entry %d:%d outside 0-255", before, s, r, from, to)
		}
		if prev, ok := before[from]; ok && prev != to {
			t.Errorf("Remap%v.Add(%q) = %v: changed %d:%d", before, s, r, from, prev)
		}
	}
	after := maps.Clone(r)
	if err := r.Add(s); err != nil || !maps.Equal(r, after) {
		t.Errorf("Remap%v.Add(%q) twice = %v, %v: want no change", after, s, r, err)
	}
}
