package signals

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

const wantSequence = "want signals and waits like TERM,5s,INT,2s,KILL, ending in KILL or a wait"

// StopStep is one signal of a stop plan, sent At this offset from the
// moment the stop signal arrived. Signal 0 stands for the stop signal
// lastcall received (after any rewrite).
type StopStep struct {
	Signal syscall.Signal
	At     time.Duration
}

// StopPlan is what lastcall does once a stop begins, as offsets from the
// moment the first stop signal arrived: keep serving until PreStopDelay,
// send each of Steps at its offset, and send SIGKILL to the whole tree at
// KillAt. Steps is never empty; Steps[0].At is PreStopDelay.
type StopPlan struct {
	PreStopDelay time.Duration
	Steps        []StopStep
	KillAt       time.Duration
}

// String writes the plan as one line of offsets: "0s TERM, 5s INT, 7s KILL".
func (p StopPlan) String() string {
	var b strings.Builder
	if p.PreStopDelay > 0 {
		b.WriteString("0s wait, ")
	}
	for _, s := range p.Steps {
		name := "the stop signal"
		if s.Signal != 0 {
			name = strings.TrimPrefix(Name(s.Signal), "SIG")
		}
		fmt.Fprintf(&b, "%v %s, ", s.At, name)
	}
	fmt.Fprintf(&b, "%v KILL", p.KillAt)
	return b.String()
}

// SequenceStep is one signal of a --stop-sequence and the wait after it.
type SequenceStep struct {
	Signal syscall.Signal
	Wait   time.Duration
}

// ParseStopSequence reads a --stop-sequence: signals and waits, alternating,
// starting with a signal ("TERM,5s,INT,2s,KILL"). It must end with KILL or
// with a wait, after which SIGKILL goes to the tree; the result never holds
// KILL itself. Waits are Go durations and must be positive.
func ParseStopSequence(s string) ([]SequenceStep, error) {
	items := strings.Split(s, ",")
	var steps []SequenceStep
	for i := 0; i < len(items); i += 2 {
		sig, err := Parse(items[i])
		if err != nil {
			return nil, fmt.Errorf("stop sequence %q: item %d: %w", s, i+1, err)
		}
		if sig == syscall.SIGKILL {
			if i != len(items)-1 || i == 0 {
				return nil, fmt.Errorf("stop sequence %q: KILL only ends a sequence that sent a signal before (%s)", s, wantSequence)
			}
			return steps, nil
		}
		if i+1 == len(items) {
			return nil, fmt.Errorf("stop sequence %q: ends with %s (%s)", s, Name(sig), wantSequence)
		}
		wait, err := time.ParseDuration(strings.TrimSpace(items[i+1]))
		if err != nil || wait <= 0 {
			return nil, fmt.Errorf("stop sequence %q: item %d %q is not a positive wait (%s)", s, i+2, items[i+1], wantSequence)
		}
		steps = append(steps, SequenceStep{Signal: sig, Wait: wait})
	}
	return steps, nil
}

// PlanInput is what a stop plan is made from.
type PlanInput struct {
	// Budget is the platform's window from its stop signal to its SIGKILL.
	Budget time.Duration
	// Reserve is the time lastcall needs after its own SIGKILL: reaping,
	// leftovers, any verdict, its exit.
	Reserve      time.Duration
	PreStopDelay time.Duration
	// Grace, when GraceSet, is the user's wait from the stop signal being
	// forwarded to SIGKILL; otherwise the grace is what the budget leaves.
	Grace    time.Duration
	GraceSet bool
	// Sequence, when not nil, replaces the single forwarded stop signal.
	Sequence []SequenceStep
}

// ErrPlanTooLong reports a plan that ends after the platform's SIGKILL.
var ErrPlanTooLong = errors.New("stop plan does not fit the budget")

// PlanStop makes the stop plan. With neither a grace nor a sequence given,
// the grace is what the budget leaves after the pre-stop delay and the
// reserve (never less than zero). A plan that does not fit the budget is
// still returned, with an error wrapping ErrPlanTooLong that says by how
// much: the caller warns and goes on.
func PlanStop(in PlanInput) (StopPlan, error) {
	p := StopPlan{PreStopDelay: in.PreStopDelay}
	at := in.PreStopDelay
	switch {
	case in.Sequence != nil:
		for _, s := range in.Sequence {
			p.Steps = append(p.Steps, StopStep{Signal: s.Signal, At: at})
			at += s.Wait
		}
	case in.GraceSet:
		p.Steps = []StopStep{{At: at}}
		at += in.Grace
	default:
		p.Steps = []StopStep{{At: at}}
		at += max(in.Budget-in.PreStopDelay-in.Reserve, 0)
	}
	p.KillAt = at
	if over := p.KillAt + in.Reserve - in.Budget; over > 0 {
		return p, fmt.Errorf("%w: SIGKILL at %v plus %v for cleanup ends %v after the %v budget",
			ErrPlanTooLong, p.KillAt, in.Reserve, over, in.Budget)
	}
	return p, nil
}
