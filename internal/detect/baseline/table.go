// SPDX-License-Identifier: Apache-2.0

package baseline

// entry is one tracked subject or value, known by its keyed hash.
type entry struct {
	h          uint64
	prev, next int32 // the recency list: prev is more recent
	first      int64 // event time first seen (a subject's learning start)
	last       int64 // latest event time seen
	quiet      int64 // threshold: no finding before this event time
	n          int32 // times kept in the stamps arena
}

// table holds at most max entries, evicting the least recently observed
// (by arrival, not event time) to make room. Slots are reused in place, so
// a full table allocates nothing more; the stamps of entry i are
// stamps[i*per : i*per+n], ascending, the per latest event times.
type table struct {
	idx        map[uint64]int32
	ents       []entry
	stamps     []int64
	per        int
	max        int
	head, tail int32 // most and least recent; -1 when empty
	evictions  uint64
}

func newTable(max, per int) *table {
	return &table{idx: make(map[uint64]int32), per: per, max: max, head: -1, tail: -1}
}

// len returns the number of entries.
func (t *table) len() int { return len(t.ents) }

// get returns the entry of h, making it the most recent.
func (t *table) get(h uint64) (*entry, int32, bool) {
	i, ok := t.idx[h]
	if !ok {
		return nil, -1, false
	}
	t.touch(i)
	return &t.ents[i], i, true
}

// sight returns the entry of h, made the most recent, adding it first seen
// at event time at when it is new; its last time becomes at if later.
func (t *table) sight(h uint64, at int64) (*entry, int32) {
	e, i, ok := t.get(h)
	if !ok {
		e, i = t.put(h)
		e.first, e.last = at, at
	}
	e.last = max(e.last, at)
	return e, i
}

// put adds h as the most recent entry, evicting the least recent when the
// table is full. h must not be in the table.
func (t *table) put(h uint64) (*entry, int32) {
	var i int32
	if len(t.ents) < t.max {
		i = int32(len(t.ents))
		t.ents = append(t.ents, entry{})
		if t.per > 0 {
			t.stamps = append(t.stamps, make([]int64, t.per)...)
		}
	} else {
		i = t.tail
		t.unlink(i)
		delete(t.idx, t.ents[i].h)
		t.evictions++
	}
	t.ents[i] = entry{h: h, prev: -1, next: -1}
	t.idx[h] = i
	t.pushFront(i)
	return &t.ents[i], i
}

func (t *table) touch(i int32) {
	if t.head == i {
		return
	}
	t.unlink(i)
	t.pushFront(i)
}

func (t *table) unlink(i int32) {
	e := &t.ents[i]
	if e.prev >= 0 {
		t.ents[e.prev].next = e.next
	} else {
		t.head = e.next
	}
	if e.next >= 0 {
		t.ents[e.next].prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (t *table) pushFront(i int32) {
	e := &t.ents[i]
	e.prev, e.next = -1, t.head
	if t.head >= 0 {
		t.ents[t.head].prev = i
	}
	t.head = i
	if t.tail < 0 {
		t.tail = i
	}
}

// times returns the stamps of entry i.
func (t *table) times(i int32) []int64 {
	o := int(i) * t.per
	return t.stamps[o : o+int(t.ents[i].n)]
}

// record adds event time at to entry i, keeping the per latest times; an
// event older than all of a full set is dropped.
func (t *table) record(i int32, at int64) {
	e := &t.ents[i]
	s := t.stamps[int(i)*t.per : (int(i)+1)*t.per]
	n := int(e.n)
	if n == t.per {
		if at <= s[0] {
			return
		}
		copy(s, s[1:])
		n--
	}
	j := n
	for j > 0 && s[j-1] > at {
		s[j] = s[j-1]
		j--
	}
	s[j] = at
	e.n = int32(n + 1)
}

// since counts the stamps of entry i later than from.
func (t *table) since(i int32, from int64) int {
	s := t.times(i)
	c := 0
	for k := len(s) - 1; k >= 0 && s[k] > from; k-- {
		c++
	}
	return c
}

// each calls fn for every entry from the least to the most recent.
func (t *table) each(fn func(i int32)) {
	for i := t.tail; i >= 0; i = t.ents[i].prev {
		fn(i)
	}
}
