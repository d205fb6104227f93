// SPDX-License-Identifier: Apache-2.0

package sigma

// trie matches anchored literals: walked from a value's first byte it finds
// every prefix pattern (startswith, and exact ones when the walk ends at
// the value's end); walked from the last byte backwards over reversed
// patterns it finds every suffix pattern. A walk stops at the first byte no
// pattern continues with, so it costs the length of the longest pattern
// that fits, not the value's. It folds ASCII case like automaton.
type trie struct {
	classes [256]uint8
	nclass  int32
	// Nodes with many edges have a dense row; others sorted edges.
	dense     []int32 // rows of nclass entries; -1: no edge
	denseAt   []int32 // per node: row offset, or -1
	edgeStart []int32
	edgeClass []uint8
	edgeNext  []int32
	outAt     []int32 // per node: patterns ending there, outs[outAt[n]:outAt[n+1]]
	outs      []int32
	reverse   bool
}

// denseEdges is how many edges make a trie node worth a dense row.
const denseEdges = 8

// buildTrie compiles lowered patterns; reverse builds the suffix trie.
func buildTrie(patterns []string, reverse bool) *trie {
	t := &trie{reverse: reverse}
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
			t.classes[b] = n
		}
	}
	for b := 'A'; b <= 'Z'; b++ {
		t.classes[b] = t.classes[b+'a'-'A']
	}
	t.nclass = int32(n) + 1
	type edge struct {
		c    uint8
		next int32
	}
	edges := [][]edge{nil}
	own := [][]int32{nil}
	for id, p := range patterns {
		s := int32(0)
		for i := 0; i < len(p); i++ {
			b := p[i]
			if reverse {
				b = p[len(p)-1-i]
			}
			c := t.classes[b]
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
	nodes := len(edges)
	t.denseAt = make([]int32, nodes)
	t.edgeStart = make([]int32, 0, nodes+1)
	t.outAt = make([]int32, 0, nodes+1)
	for s, es := range edges {
		t.outAt = append(t.outAt, int32(len(t.outs)))
		t.outs = append(t.outs, own[s]...)
		t.edgeStart = append(t.edgeStart, int32(len(t.edgeClass)))
		t.denseAt[s] = -1
		if len(es) >= denseEdges {
			t.denseAt[s] = int32(len(t.dense))
			row := make([]int32, t.nclass)
			for i := range row {
				row[i] = -1
			}
			for _, e := range es {
				row[e.c] = e.next
			}
			t.dense = append(t.dense, row...)
			continue
		}
		for _, e := range es {
			t.edgeClass = append(t.edgeClass, e.c)
			t.edgeNext = append(t.edgeNext, e.next)
		}
	}
	t.edgeStart = append(t.edgeStart, int32(len(t.edgeClass)))
	t.outAt = append(t.outAt, int32(len(t.outs)))
	return t
}

// next follows byte b from node s, or returns -1.
func (t *trie) next(s int32, b byte) int32 {
	c := t.classes[b]
	if c == 0 {
		return -1
	}
	if d := t.denseAt[s]; d >= 0 {
		return t.dense[d+int32(c)]
	}
	for i := t.edgeStart[s]; i < t.edgeStart[s+1]; i++ {
		if t.edgeClass[i] == c {
			return t.edgeNext[i]
		}
	}
	return -1
}

func (t *trie) bytes() int {
	return 4*(len(t.dense)+len(t.denseAt)+len(t.edgeStart)+len(t.edgeNext)+len(t.outAt)+len(t.outs)) + len(t.edgeClass) + 256
}
