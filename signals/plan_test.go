package signals

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestRewriteAdd(t *testing.T) {
	tests := []struct {
		start   Rewrite
		in      string
		want    Rewrite
		wantErr string
	}{
		{Rewrite{}, "INT:TERM", Rewrite{syscall.SIGINT: syscall.SIGTERM}, ""},
		{Rewrite{}, "sigterm:quit", Rewrite{syscall.SIGTERM: syscall.SIGQUIT}, ""},
		{Rewrite{}, "HUP:0", Rewrite{syscall.SIGHUP: 0}, ""},
		{Rewrite{}, "INT:TERM, HUP:0", Rewrite{syscall.SIGINT: syscall.SIGTERM, syscall.SIGHUP: 0}, ""},
		{Rewrite{}, "15:3", Rewrite{syscall.SIGTERM: syscall.SIGQUIT}, ""},
		{Rewrite{}, "INT:TERM,INT:TERM", Rewrite{syscall.SIGINT: syscall.SIGTERM}, ""},
		{Rewrite{syscall.SIGINT: syscall.SIGTERM}, "INT:QUIT", Rewrite{syscall.SIGINT: syscall.SIGTERM}, "already rewritten to SIGTERM"},
		{Rewrite{}, "INT:TERM,INT:0", Rewrite{}, "already rewritten"},
		{Rewrite{}, "KILL:TERM", Rewrite{}, "cannot be caught"},
		{Rewrite{}, "STOP:0", Rewrite{}, "cannot be caught"},
		{Rewrite{}, "TERM", Rewrite{}, "want FROM:TO"},
		{Rewrite{}, "TERM:", Rewrite{}, "want FROM:TO"},
		{Rewrite{}, ":TERM", Rewrite{}, "want FROM:TO"},
		{Rewrite{}, "FOO:TERM", Rewrite{}, "unknown signal"},
		{Rewrite{}, "TERM:BAR", Rewrite{}, "unknown signal"},
		{Rewrite{}, "", Rewrite{}, "want FROM:TO"},
		{Rewrite{}, "INT:TERM,", Rewrite{}, "want FROM:TO"},
	}
	for _, tt := range tests {
		r := maps.Clone(tt.start)
		err := r.Add(tt.in)
		expect(t, maps.Equal(r, tt.want) && errMatches(err, tt.wantErr),
			"Add(%q) = %v, %v; want %v, error %q", tt.in, r, err, tt.want, tt.wantErr)
	}
}

func TestRewriteApply(t *testing.T) {
	r := Rewrite{syscall.SIGINT: syscall.SIGTERM, syscall.SIGHUP: 0}
	tests := []struct{ in, want syscall.Signal }{
		{syscall.SIGINT, syscall.SIGTERM},
		{syscall.SIGHUP, 0},
		{syscall.SIGTERM, syscall.SIGTERM},
		{syscall.SIGUSR1, syscall.SIGUSR1},
	}
	for _, tt := range tests {
		got := r.Apply(tt.in)
		expect(t, got == tt.want, "Apply(%s) = %d, want %d", Name(tt.in), got, tt.want)
	}
}

func TestParseStopSequence(t *testing.T) {
	term, intr, quit := syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT
	tests := []struct {
		in      string
		want    []SequenceStep
		wantErr string
	}{
		{"TERM,5s,INT,2s,KILL", []SequenceStep{{term, 5 * time.Second}, {intr, 2 * time.Second}}, ""},
		{"TERM,5s", []SequenceStep{{term, 5 * time.Second}}, ""},
		{"TERM,5s,KILL", []SequenceStep{{term, 5 * time.Second}}, ""},
		{"QUIT, 500ms ,TERM,1m", []SequenceStep{{quit, 500 * time.Millisecond}, {term, time.Minute}}, ""},
		{"TERM", nil, "ends with SIGTERM"},
		{"TERM,5s,INT", nil, "ends with SIGINT"},
		{"KILL", nil, "KILL only ends"},
		{"TERM,KILL", nil, "not a positive wait"},
		{"TERM,5s,KILL,1s", nil, "KILL only ends"},
		{"TERM,0s", nil, "not a positive wait"},
		{"TERM,-1s", nil, "not a positive wait"},
		{"TERM,5", nil, "not a positive wait"},
		{"5s,TERM", nil, "unknown signal"},
		{"", nil, "empty signal"},
		{"TERM,,KILL", nil, "not a positive wait"},
	}
	for _, tt := range tests {
		got, err := ParseStopSequence(tt.in)
		expect(t, slices.Equal(got, tt.want) && errMatches(err, tt.wantErr),
			"ParseStopSequence(%q) = %v, %v; want %v, error %q", tt.in, got, err, tt.want, tt.wantErr)
	}
}

func TestPlanStop(t *testing.T) {
	s := time.Second
	seq := []SequenceStep{{syscall.SIGTERM, 5 * s}, {syscall.SIGINT, 2 * s}}
	tests := []struct {
		name    string
		in      PlanInput
		want    string
		tooLong bool
	}{
		{"default budget", PlanInput{Budget: 10 * s, Reserve: 3 * s}, "0s the stop signal, 7s KILL", false},
		{"kubernetes", PlanInput{Budget: 30 * s, Reserve: 3 * s}, "0s the stop signal, 27s KILL", false},
		{"pre-stop delay", PlanInput{Budget: 30 * s, Reserve: 3 * s, PreStopDelay: 10 * s},
			"0s wait, 10s the stop signal, 27s KILL", false},
		{"grace wins", PlanInput{Budget: 30 * s, Reserve: 3 * s, Grace: 5 * s, GraceSet: true},
			"0s the stop signal, 5s KILL", false},
		{"grace too long", PlanInput{Budget: 5 * s, Reserve: 3 * s, Grace: 7 * s, GraceSet: true},
			"0s the stop signal, 7s KILL", true},
		{"sequence", PlanInput{Budget: 10 * s, Reserve: 3 * s, Sequence: seq}, "0s TERM, 5s INT, 7s KILL", false},
		{"sequence too long", PlanInput{Budget: 5 * s, Reserve: 1 * s, Sequence: seq}, "0s TERM, 5s INT, 7s KILL", true},
		{"delay eats the budget", PlanInput{Budget: 5 * s, Reserve: 3 * s, PreStopDelay: 4 * s},
			"0s wait, 4s the stop signal, 4s KILL", true},
		{"zero grace", PlanInput{Budget: 10 * s, Reserve: 3 * s, GraceSet: true}, "0s the stop signal, 0s KILL", false},
	}
	for _, tt := range tests {
		p, err := PlanStop(tt.in)
		expect(t, p.String() == tt.want && errors.Is(err, ErrPlanTooLong) == tt.tooLong,
			"%s: PlanStop = %q, %v; want %q, too long %v", tt.name, p, err, tt.want, tt.tooLong)
	}
}

func TestDetectPlatform(t *testing.T) {
	tests := []struct {
		env       map[string]string
		dockerenv bool
		want      string
		timeout   time.Duration
		signal    syscall.Signal
	}{
		{nil, false, "unknown", 10 * time.Second, syscall.SIGTERM},
		{nil, true, "docker", 10 * time.Second, syscall.SIGTERM},
		{map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, true, "kubernetes", 30 * time.Second, syscall.SIGTERM},
		{map[string]string{"K_SERVICE": "api", "K_REVISION": "api-1"}, false, "cloud-run", 10 * time.Second, syscall.SIGTERM},
		{map[string]string{"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/x"}, true, "aws-ecs", 30 * time.Second, syscall.SIGTERM},
		{map[string]string{"AWS_EXECUTION_ENV": "AWS_ECS_FARGATE"}, false, "aws-ecs", 30 * time.Second, syscall.SIGTERM},
		{map[string]string{"AWS_EXECUTION_ENV": "AWS_Lambda_go1.x"}, false, "unknown", 10 * time.Second, syscall.SIGTERM},
		{map[string]string{"DYNO": "web.1"}, false, "heroku", 30 * time.Second, syscall.SIGTERM},
		{map[string]string{"RENDER": "true", "RENDER_SERVICE_ID": "srv-1"}, false, "render", 30 * time.Second, syscall.SIGTERM},
		{map[string]string{"RENDER": "true"}, false, "render", 30 * time.Second, syscall.SIGTERM},
		{map[string]string{"FLY_APP_NAME": "app", "KUBERNETES_SERVICE_HOST": "x"}, true, "fly.io", 5 * time.Second, syscall.SIGINT},
		{map[string]string{"NOMAD_ALLOC_ID": "abc"}, true, "nomad", 5 * time.Second, syscall.SIGINT},
	}
	for _, tt := range tests {
		getenv := func(k string) string { return tt.env[k] }
		got := DetectPlatform(getenv, tt.dockerenv)
		expect(t, got == Platform{tt.want, tt.timeout, tt.signal},
			"DetectPlatform(%v, dockerenv %v) = %+v, want %s %v %s", tt.env, tt.dockerenv, got, tt.want, tt.timeout, Name(tt.signal))
	}
}

func FuzzParseStopSequence(f *testing.F) {
	for _, s := range []string{"TERM,5s,INT,2s,KILL", "TERM,5s", "KILL", "TERM,1h,QUIT,1ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		steps, err := ParseStopSequence(s)
		if err != nil {
			return
		}
		if len(steps) == 0 {
			t.Fatalf("ParseStopSequence(%q) gave no steps and no error", s)
		}
		var again string
		for _, st := range steps {
			if st.Wait <= 0 || st.Signal == syscall.SIGKILL || st.Signal < 1 || st.Signal > 64 {
				t.Fatalf("ParseStopSequence(%q) gave step %+v", s, st)
			}
			again += fmt.Sprintf("%d,%s,", st.Signal, st.Wait)
		}
		back, err := ParseStopSequence(again + "KILL")
		if err != nil || !slices.Equal(back, steps) {
			t.Fatalf("reparse of %q: %v, %v; want %v", again, back, err, steps)
		}
	})
}

func FuzzRewriteAdd(f *testing.F) {
	for _, s := range []string{"INT:TERM", "HUP:0,TERM:QUIT", "KILL:TERM", ":", "RTMIN+1:USR1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := Rewrite{}
		if err := r.Add(s); err != nil {
			if len(r) != 0 {
				t.Fatalf("Add(%q) failed but changed the table: %v", s, r)
			}
			return
		}
		for from, to := range r {
			if from == syscall.SIGKILL || from == syscall.SIGSTOP || from < 1 || from > 64 || to < 0 || to > 64 {
				t.Fatalf("Add(%q) gave %d:%d", s, from, to)
			}
		}
	})
}
