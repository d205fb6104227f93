// SPDX-License-Identifier: Apache-2.0

package sigma

import "math"

// automaton is an Aho-Corasick automaton over byte classes. Upper-case
// ASCII letters share their lower-case letter's class, so scanning an ASCII
// value needs no lowered copy; bytes no pattern uses share class 0.
//
// States near the root, where a scan spends nearly all its time, are a
// dense DFA table (premultiplied by the class count, so a step is one load);
// deeper states, which hold most of the patterns' bytes, keep only their
// trie edges and a failure link. State ids: dense states are ≥ 0, sparse
// ones < 0. States that report matches are numbered last in each kind, so
// one comparison per byte tells whether to look at outputs:
// s ≥ outStart (dense) or s ≤ sparseOut (sparse).
type automaton struct {
	classes   [256]uint8
	nclass    int32
	dense     []int32 // dense states × classes → next state
	outStart  int32
	sparseOut int32 // sparse ids ≤ this report; math.MinInt32 when none
	// Sparse state k (id -k-1): edges edgeClass/edgeNext[edgeStart[k]:
	// edgeStart[k+1]] sorted by class, failure link fail[k].
	edgeStart []int32
	edgeClass []uint8
	edgeNext  []int32
	fail      []int32
	// Outputs of reporting state r (dense: (s-outStart)/nclass; sparse:
	// sparseBase-s): pattern ids outs[outAt[r]:outAt[r+1]].
	outAt      []int32
	outs       []int32
	sparseBase int32 // index of the first sparse reporting state in outAt, plus its id
	plen       []int32
	// anchors: every pattern holds one of these bytes (see anchorsFor);
	// nil when no rare set exists.
	anchors []byte
}

// denseBudget is how many bytes of dense table an automaton may use before
// deeper states become sparse.
const denseBudget = 1 << 20

// buildAutomaton compiles patterns (already lowered; none empty).
func buildAutomaton(patterns []string) *automaton {
	a := &automaton{}
	var used [256]bool
	for _, p := range patterns {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	n := uint8(0)
	for b := 0; b < 256; b++ {
		if used[b] && !(b >= 'A' && b <= 'Z') {
			n++
			a.classes[b] = n
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		a.classes[b] = a.classes[b+'a'-'A']
	}
	nc := int32(n) + 1
	a.nclass = nc
	a.anchors = anchorsFor(patterns)

	// The trie, with sparse edges.
	type edge struct {
		c    uint8
		next int32
	}
	edges := [][]edge{nil}
	own := [][]int32{nil}
	a.plen = make([]int32, len(patterns))
	for id, p := range patterns {
		a.plen[id] = int32(len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := a.classes[p[i]]
			nx := int32(-1)
			for _, e := range edges[s] {
				if e.c == c {
					nx = e.next
					break
				}
			}
			if nx < 0 {
				nx = int32(len(edges))
				edges = append(edges, nil)
				own = append(own, nil)
				edges[s] = append(edges[s], edge{c, nx})
			}
			s = nx
		}
		own[s] = append(own[s], int32(id))
	}
	states := int32(len(edges))

	// Breadth-first order and depth; the dense part is every state up to
	// the deepest level that fits the budget (all of them when small).
	order := make([]int32, 0, states)
	depth := make([]int32, states)
	order = append(order, 0)
	for qi := 0; qi < len(order); qi++ {
		s := order[qi]
		for _, e := range edges[s] {
			depth[e.next] = depth[s] + 1
			order = append(order, e.next)
		}
	}
	maxDense := max(int32(denseBudget/4/nc), 1)
	isDense := make([]bool, states)
	ndense := int32(0)
	for i := 0; i < len(order); {
		d := depth[order[i]]
		j := i
		for j < len(order) && depth[order[j]] == d {
			j++
		}
		if d > 0 && ndense+int32(j-i) > maxDense {
			break
		}
		for _, s := range order[i:j] {
			isDense[s] = true
		}
		ndense += int32(j - i)
		i = j
	}

	// Failure links and dense rows, in breadth-first order so a state's
	// failure target is done before it.
	fail := make([]int32, states)
	row := make([][]int32, states) // dense rows in original ids
	delta := func(s int32, c uint8) int32 {
		for {
			if isDense[s] {
				return row[s][c]
			}
			for _, e := range edges[s] {
				if e.c == c {
					return e.next
				}
			}
			s = fail[s]
		}
	}
	outs := make([][]int32, states)
	for _, s := range order {
		if s != 0 {
			outs[s] = append(append([]int32(nil), own[s]...), outs[fail[s]]...)
		}
		if isDense[s] {
			r := make([]int32, nc)
			for c := int32(0); c < nc; c++ {
				if s == 0 {
					r[c] = 0
				} else {
					r[c] = delta(fail[s], uint8(c))
				}
			}
			for _, e := range edges[s] {
				r[e.c] = e.next
			}
			row[s] = r
		}
		for _, e := range edges[s] {
			if s == 0 {
				fail[e.next] = 0
			} else {
				fail[e.next] = delta(fail[s], e.c)
			}
		}
	}

	// Number the states: dense non-reporting, dense reporting; sparse
	// non-reporting, sparse reporting.
	newID := make([]int32, states)
	var dn, dr, sn, sr []int32
	for s := int32(0); s < states; s++ {
		switch {
		case isDense[s] && len(outs[s]) == 0:
			dn = append(dn, s)
		case isDense[s]:
			dr = append(dr, s)
		case len(outs[s]) == 0:
			sn = append(sn, s)
		default:
			sr = append(sr, s)
		}
	}
	k := int32(0)
	for _, s := range append(dn, dr...) {
		newID[s] = k * nc
		k++
	}
	a.outStart = int32(len(dn)) * nc
	k = 0
	for _, s := range append(sn, sr...) {
		newID[s] = -k - 1
		k++
	}
	a.sparseOut = math.MinInt32
	if len(sr) > 0 {
		a.sparseOut = -int32(len(sn)) - 1
	}
	a.dense = make([]int32, int32(len(dn)+len(dr))*nc)
	for _, s := range append(dn, dr...) {
		base := newID[s]
		for c, nx := range row[s] {
			a.dense[base+int32(c)] = newID[nx]
		}
	}
	sparse := append(sn, sr...)
	a.edgeStart = make([]int32, 0, len(sparse)+1)
	a.fail = make([]int32, len(sparse))
	for k, s := range sparse {
		a.edgeStart = append(a.edgeStart, int32(len(a.edgeClass)))
		es := edges[s]
		// Insertion-sort edges by class for the lookup.
		for i := 1; i < len(es); i++ {
			for j := i; j > 0 && es[j].c < es[j-1].c; j-- {
				es[j], es[j-1] = es[j-1], es[j]
			}
		}
		for _, e := range es {
			a.edgeClass = append(a.edgeClass, e.c)
			a.edgeNext = append(a.edgeNext, newID[e.next])
		}
		a.fail[k] = newID[fail[s]]
	}
	a.edgeStart = append(a.edgeStart, int32(len(a.edgeClass)))
	// Outputs: dense reporting states, then sparse ones.
	for _, s := range append(dr, sr...) {
		a.outAt = append(a.outAt, int32(len(a.outs)))
		a.outs = append(a.outs, outs[s]...)
	}
	a.outAt = append(a.outAt, int32(len(a.outs)))
	// Sparse reporting id -len(sn)-1-j has output index len(dr)+j.
	a.sparseBase = int32(len(dr)) - int32(len(sn)) - 1
	return a
}

// step follows class c from sparse state s.
func (a *automaton) step(s int32, c uint8) int32 {
	for {
		k := -s - 1
		lo, hi := a.edgeStart[k], a.edgeStart[k+1]
		for i := lo; i < hi; i++ {
			if a.edgeClass[i] == c {
				return a.edgeNext[i]
			}
		}
		s = a.fail[k]
		if s >= 0 {
			return a.dense[s+int32(c)]
		}
	}
}

// outputs returns the patterns reporting state s ends.
func (a *automaton) outputs(s int32) []int32 {
	var r int32
	if s >= 0 {
		r = (s - a.outStart) / a.nclass
	} else {
		r = a.sparseBase - s
	}
	return a.outs[a.outAt[r]:a.outAt[r+1]]
}

// bytes reports the automaton's table sizes, for memory accounting.
func (a *automaton) bytes() int {
	return 4*(len(a.dense)+len(a.edgeStart)+len(a.edgeNext)+len(a.fail)+len(a.outAt)+len(a.outs)+len(a.plen)) + len(a.edgeClass) + 256
}
