package logsink

import (
	"slices"
	"testing"
)

// The queue keeps lines in order, drops a new unimportant line when full,
// lets an important one take the place of the newest unimportant line,
// and drops an important one only when all it holds is important.
func TestQueue(t *testing.T) {
	tests := []struct {
		name        string
		offers      string // one letter per line offered, in seq order: n unimportant, I important
		wantKept    []uint64
		wantDropped []uint64
	}{
		{"room", "nn", []uint64{0, 1}, nil},
		{"full drops the new unimportant line", "nnnn", []uint64{0, 1, 2}, []uint64{3}},
		{"important evicts the newest unimportant", "nnnI", []uint64{0, 1, 3}, []uint64{2}},
		{"important evicts until none is left", "nnnIII", []uint64{3, 4, 5}, []uint64{2, 1, 0}},
		{"all important: the new one is dropped", "IIII", []uint64{0, 1, 2}, []uint64{3}},
		{"mixed", "InInI", []uint64{0, 2, 4}, []uint64{3, 1}},
		{"order across both rings", "nIn", []uint64{0, 1, 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue(3)
			var dropped []uint64
			for i, c := range tt.offers {
				if lost, ok := q.offer(entry{seq: uint64(i), important: c == 'I'}); ok {
					dropped = append(dropped, lost.seq)
				}
			}
			var kept []uint64
			for e, ok := q.pop(); ok; e, ok = q.pop() {
				kept = append(kept, e.seq)
			}
			if !slices.Equal(kept, tt.wantKept) || !slices.Equal(dropped, tt.wantDropped) {
				t.Errorf("kept %v, dropped %v; want kept %v, dropped %v", kept, dropped, tt.wantKept, tt.wantDropped)
			}
		})
	}
}

// The rings wrap around: a queue used for many more lines than its length
// still hands them out in order.
func TestQueueWraps(t *testing.T) {
	q := newQueue(3)
	var got []uint64
	for i := range uint64(20) {
		if _, dropped := q.offer(entry{seq: i, important: i%3 == 0}); dropped {
			t.Fatalf("line %d dropped", i)
		}
		if q.len() == 3 {
			e, _ := q.pop()
			got = append(got, e.seq)
		}
	}
	for e, ok := q.pop(); ok; e, ok = q.pop() {
		got = append(got, e.seq)
	}
	var want []uint64
	for i := range uint64(20) {
		want = append(want, i)
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
