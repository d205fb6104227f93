// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/event"
)

// The correlation snapshot format: one header line
//
//	koban-sigma-correlator <version> <sha256 of the body, hex>
//
// then the body, a JSON document (snapshot below). Correlations are keyed by
// their rule's id (else name, else title) with a shape that says how their
// state is laid out; Restore keeps the state of correlations whose key and
// shape are unchanged and starts the others empty.
const (
	snapMagic   = "koban-sigma-correlator"
	snapVersion = 1
	// MaxSnapshotBytes bounds what Restore reads.
	MaxSnapshotBytes = 1 << 30
)

type snapshot struct {
	Clock        int64      `json:"clock"`
	Correlations []snapCorr `json:"correlations"`
}

type snapCorr struct {
	Key   string `json:"key"`
	Shape string `json:"shape"`
	// Groups, least recently updated first.
	Groups []snapGroup `json:"groups"`
}

type snapGroup struct {
	Vals   []string         `json:"vals"`
	Start  int64            `json:"start"`
	First  int64            `json:"first"`
	Max    int64            `json:"max"`
	Total  float64          `json:"total,omitempty"`
	N      float64          `json:"n,omitempty"`
	EntT   []int64          `json:"ent_t,omitempty"`
	EntX   []float64        `json:"ent_x,omitempty"`
	Values map[string]int64 `json:"values,omitempty"`
	VQT    []int64          `json:"vq_t,omitempty"`
	VQV    []string         `json:"vq_v,omitempty"`
	Seen   []int64          `json:"seen,omitempty"`
	ChainS []int64          `json:"chain_s,omitempty"`
	ChainE []int64          `json:"chain_e,omitempty"`
	IDT    []int64          `json:"id_t,omitempty"`
	IDs    []string         `json:"ids,omitempty"`
}

func (k *corr) snapKey() string { return k.rule.Ref() }

// shape changes whenever the meaning of a correlation's saved state would.
func (k *corr) shape() string {
	return strings.Join([]string{k.def.Type, strconv.FormatBool(k.deferred), strings.Join(k.def.Rules, ","), strings.Join(k.def.GroupBy, ","), k.def.Field}, "|")
}

// Snapshot writes the Correlator's windows to w, so that a restart does not
// forget correlations under way.
func (cr *Correlator) Snapshot(w io.Writer) error {
	s := snapshot{Clock: cr.clock}
	for _, k := range cr.corrs {
		sc := snapCorr{Key: k.snapKey(), Shape: k.shape()}
		for g := k.lru.prev; g != &k.lru; g = g.prev {
			sc.Groups = append(sc.Groups, g.snap())
		}
		s.Correlations = append(s.Correlations, sc)
	}
	body, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("sigma: correlation snapshot: %w", err)
	}
	sum := sha256.Sum256(body)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %d %s\n", snapMagic, snapVersion, hex.EncodeToString(sum[:]))
	_, _ = bw.Write(body) // a bufio.Writer keeps its first error for Flush
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sigma: correlation snapshot: %w", err)
	}
	return nil
}

func (g *window) snap() snapGroup {
	s := snapGroup{Vals: g.vals, Start: g.start, First: g.first, Max: g.max, Total: g.total, N: g.n, Seen: g.seen}
	for _, e := range g.ents {
		s.EntT = append(s.EntT, e.t)
		s.EntX = append(s.EntX, e.x)
	}
	if len(g.vset) > 0 {
		s.Values = g.vset
	}
	for _, e := range g.vq {
		s.VQT = append(s.VQT, e.t)
		s.VQV = append(s.VQV, e.v)
	}
	for _, c := range g.chain {
		s.ChainS = append(s.ChainS, c.start)
		s.ChainE = append(s.ChainE, c.end)
	}
	for _, e := range g.ids {
		s.IDT = append(s.IDT, e.t)
		s.IDs = append(s.IDs, e.id.String())
	}
	return s
}

// Restore replaces the Correlator's windows with a snapshot's. State of
// correlations that are no longer loaded, or whose type, rules, group-by,
// field or kind of condition changed, is ignored. On error (a corrupt or
// truncated snapshot, an unknown version) the Correlator is left empty.
func (cr *Correlator) Restore(r io.Reader) error {
	cr.reset()
	if err := cr.restore(r); err != nil {
		cr.reset()
		return fmt.Errorf("sigma: restore correlations: %w", err)
	}
	return nil
}

func (cr *Correlator) reset() {
	cr.clock = 0
	cr.heap = nil
	for _, k := range cr.corrs {
		k.groups = map[string]*window{}
		k.lru.next, k.lru.prev = &k.lru, &k.lru
		k.n = 0
	}
}

func (cr *Correlator) restore(r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxSnapshotBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxSnapshotBytes {
		return fmt.Errorf("the snapshot is larger than %d bytes", MaxSnapshotBytes)
	}
	line, body, ok := bytes.Cut(data, []byte{'\n'})
	if !ok {
		return errors.New("no header line")
	}
	f := strings.Fields(string(line))
	if len(f) != 3 || f[0] != snapMagic {
		return errors.New("not a correlation snapshot (bad header)")
	}
	if v, err := strconv.Atoi(f[1]); err != nil || v != snapVersion {
		return fmt.Errorf("snapshot version %q is not supported (this koban reads version %d)", f[1], snapVersion)
	}
	sum := sha256.Sum256(body)
	if f[2] != hex.EncodeToString(sum[:]) {
		return errors.New("checksum mismatch: the snapshot is corrupt or truncated")
	}
	var s snapshot
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	byKey := map[string]*corr{}
	for _, k := range cr.corrs {
		byKey[k.snapKey()] = k
	}
	seen := map[string]bool{}
	for _, sc := range s.Correlations {
		if seen[sc.Key] {
			return fmt.Errorf("correlation %q appears twice", sc.Key)
		}
		seen[sc.Key] = true
		k := byKey[sc.Key]
		// Check every group even when the state is not used, so that a
		// corrupt snapshot is rejected whole.
		shapeOK := k != nil && k.shape() == sc.Shape
		for i := range sc.Groups {
			g, err := cr.restoreGroup(k, shapeOK, &sc.Groups[i])
			if err != nil {
				return fmt.Errorf("correlation %q, group %d: %w", sc.Key, i+1, err)
			}
			if g == nil {
				continue
			}
			if old := k.groups[g.key]; old != nil {
				return fmt.Errorf("correlation %q, group %d: group %q appears twice", sc.Key, i+1, g.vals)
			}
			if k.n >= cr.o.MaxGroups { // MaxGroups was lowered: keep the latest
				k.remove(cr, k.lru.prev)
			}
			k.link(cr, g)
		}
	}
	cr.clock = s.Clock
	return nil
}

// restoreGroup checks one saved group and, when use, rebuilds it for k.
func (cr *Correlator) restoreGroup(k *corr, use bool, s *snapGroup) (*window, error) {
	switch {
	case len(s.EntT) != len(s.EntX):
		return nil, errors.New("window entries and values differ in number")
	case len(s.ChainS) != len(s.ChainE):
		return nil, errors.New("ordered chains are incomplete")
	case len(s.VQT) != len(s.VQV):
		return nil, errors.New("value expiry times and values differ in number")
	case len(s.IDT) != len(s.IDs):
		return nil, errors.New("event ids and their times differ in number")
	}
	ids := make([]idAt, len(s.IDs))
	for i, txt := range s.IDs {
		id, err := event.ParseID(txt)
		if err != nil {
			return nil, err
		}
		ids[i] = idAt{s.IDT[i], id}
	}
	if !use {
		return nil, nil
	}
	if len(s.Vals) != len(k.def.GroupBy) {
		return nil, fmt.Errorf("%d group-by values for %d fields", len(s.Vals), len(k.def.GroupBy))
	}
	var key []byte
	for _, v := range s.Vals {
		key = appendKey(key, v)
	}
	g := &window{k: k, key: string(key), vals: s.Vals, hidx: -1, start: s.Start, first: s.First, max: s.Max, total: s.Total, n: s.N}
	if len(ids) > cr.o.MaxEvents {
		ids = ids[len(ids)-cr.o.MaxEvents:]
	}
	g.ids = ids
	switch k.typ {
	case ctEventCount, ctSum, ctAvg:
		if k.deferred {
			break
		}
		g.total = 0
		for i, t := range s.EntT {
			g.ents = append(g.ents, entry{t, s.EntX[i]})
			g.total += s.EntX[i]
		}
		slices.SortStableFunc(g.ents, func(a, b entry) int { return cmp.Compare(a.t, b.t) })
		for len(g.ents) > cr.o.MaxValues {
			g.ents = mergePairs(g.ents)
		}
	case ctValueCount:
		g.vset = map[string]int64{}
		for v, t := range s.Values {
			g.vset[v] = t
		}
		if k.deferred {
			for v := range g.vset { // MaxValues was lowered: the count saturates
				if len(g.vset) <= cr.o.MaxValues {
					break
				}
				delete(g.vset, v)
			}
			break
		}
		for i, t := range s.VQT {
			g.vq = append(g.vq, vent{t, s.VQV[i]})
		}
		slices.SortStableFunc(g.vq, func(a, b vent) int { return cmp.Compare(a.t, b.t) })
		if len(g.vq) > 2*len(g.vset)+16 {
			g.compactValues()
		}
		for len(g.vset) > cr.o.MaxValues {
			g.evictOldestValue()
		}
	case ctTemporal:
		if len(s.Seen) != k.npos {
			return nil, fmt.Errorf("%d temporal positions for %d rules", len(s.Seen), k.npos)
		}
		g.seen = slices.Clone(s.Seen)
	case ctOrdered:
		if len(s.ChainS) != k.npos {
			return nil, fmt.Errorf("%d ordered positions for %d rules", len(s.ChainS), k.npos)
		}
		g.chain = make([]span, k.npos)
		for i := range g.chain {
			g.chain[i] = span{s.ChainS[i], s.ChainE[i]}
		}
	}
	return g, nil
}

func appendKey(key []byte, v string) []byte {
	key = binary.AppendUvarint(key, uint64(len(v)))
	return append(key, v...)
}
