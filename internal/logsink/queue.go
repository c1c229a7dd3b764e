package logsink

import "go.uber.org/zap/buffer"

// entry is one line waiting to be written. seq numbers every line offered
// to the sink, kept or not, so that the writer can put the drop report in
// the place of the first line lost.
type entry struct {
	seq       uint64
	buf       *buffer.Buffer
	important bool
}

// queue holds at most limit entries in two FIFO rings, one for important
// lines and one for the others, and hands them out in the order of seq.
// It does no locking and no I/O.
type queue struct {
	normal, important ring
	limit             int
}

func newQueue(limit int) queue {
	return queue{normal: newRing(limit), important: newRing(limit), limit: limit}
}

func (q *queue) len() int { return q.normal.n + q.important.n }

// offer adds e if there is room. In a full queue an important e takes the
// place of the newest unimportant entry; otherwise e itself is not kept.
// offer returns the entry left out, if any.
func (q *queue) offer(e entry) (lost entry, dropped bool) {
	switch {
	case q.len() < q.limit:
	case !e.important || q.normal.n == 0:
		return e, true
	default:
		lost, dropped = q.normal.popBack(), true
	}
	if e.important {
		q.important.push(e)
	} else {
		q.normal.push(e)
	}
	return lost, dropped
}

// peek returns the oldest entry without removing it.
func (q *queue) peek() (entry, bool) {
	r := q.oldest()
	if r == nil {
		return entry{}, false
	}
	return r.front(), true
}

// pop removes and returns the oldest entry.
func (q *queue) pop() (entry, bool) {
	r := q.oldest()
	if r == nil {
		return entry{}, false
	}
	return r.popFront(), true
}

// oldest is the ring whose first entry has the lowest seq, nil if both are
// empty.
func (q *queue) oldest() *ring {
	switch {
	case q.normal.n == 0 && q.important.n == 0:
		return nil
	case q.normal.n == 0:
		return &q.important
	case q.important.n == 0:
		return &q.normal
	case q.important.front().seq < q.normal.front().seq:
		return &q.important
	default:
		return &q.normal
	}
}

// ring is a fixed-size FIFO that can also give up its newest entry.
type ring struct {
	items   []entry
	head, n int
}

func newRing(size int) ring { return ring{items: make([]entry, size)} }

func (r *ring) push(e entry) {
	r.items[(r.head+r.n)%len(r.items)] = e
	r.n++
}

func (r *ring) front() entry { return r.items[r.head] }

func (r *ring) popFront() entry {
	e := r.items[r.head]
	r.items[r.head] = entry{}
	r.head = (r.head + 1) % len(r.items)
	r.n--
	return e
}

func (r *ring) popBack() entry {
	i := (r.head + r.n - 1) % len(r.items)
	e := r.items[i]
	r.items[i] = entry{}
	r.n--
	return e
}
