// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
)

// Set is an indicator list built for matching. It never changes once built,
// so any number of goroutines may match against it at once; a Live holds
// the current one and swaps in a new one on reload.
type Set struct {
	list    []Indicator // every indicator kept; the maps point into it
	hashes  map[string]*Indicator
	emails  map[string]*Indicator
	urls    map[string]*Indicator
	domains map[string]*Indicator
	ips     map[netip.Addr]*Indicator
	v4, v6  rangeTable
	fields  []Kind // by event.FieldID: what the field carries, "" for nothing
	now     func() time.Time
	counts  map[Kind]int
}

// Option changes how NewSet builds a Set.
type Option func(*options)

type options struct {
	now    func() time.Time
	fields FieldKinds
}

// WithClock gives the Set the clock it judges expiry by; the default is
// time.Now. A match calls it at most once, and only when it finds an
// indicator that has an expiry time; it must be safe to call from several
// goroutines.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithFieldKinds replaces DefaultFieldKinds: the event fields MatchEvent
// looks at and what each carries. A field whose kind is "" is not looked
// at, so a changed copy of DefaultFieldKinds can leave fields out.
func WithFieldKinds(fk FieldKinds) Option { return func(o *options) { o.fields = fk } }

// NewSet builds a Set from list. Each indicator's value is normalised
// (Normalize); an indicator that does not normalise, or has no valid kind,
// is left out and reported in the errors, which say which entry it was.
// Indicators of the same kind and value are one: the one that expires last
// is kept. NewSet copies what it keeps; list may be changed afterwards.
// A field kind that is not valid, or a field name that cannot be
// interned, is reported too and ignored.
func NewSet(list []Indicator, opts ...Option) (*Set, []error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if o.fields == nil {
		o.fields = DefaultFieldKinds()
	}
	s := &Set{
		list:    make([]Indicator, 0, len(list)),
		hashes:  map[string]*Indicator{},
		emails:  map[string]*Indicator{},
		urls:    map[string]*Indicator{},
		domains: map[string]*Indicator{},
		ips:     map[netip.Addr]*Indicator{},
		now:     o.now,
		counts:  map[Kind]int{},
	}
	errs := s.add(list)
	s.index()
	errs = append(errs, s.setFields(o.fields)...)
	return s, errs
}

// add keeps the indicators of list that normalise, one per kind and value.
func (s *Set) add(list []Indicator) []error {
	var errs []error
	type key struct {
		k Kind
		v string
	}
	at := make(map[key]int, len(list)) // into s.list
	for i, ind := range list {
		v, err := Normalize(ind.Kind, ind.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("intel: indicator %d (%s %q from %q): %w", i+1, ind.Kind, clip(ind.Value), ind.Source, err))
			continue
		}
		ind.Value = v
		k := key{ind.Kind, v}
		if j, ok := at[k]; ok {
			if old := &s.list[j]; !old.Expires.IsZero() && (ind.Expires.IsZero() || ind.Expires.After(old.Expires)) {
				*old = ind
			}
			continue
		}
		at[k] = len(s.list)
		s.list = append(s.list, ind)
	}
	return errs
}

// index builds the lookup structures over s.list.
func (s *Set) index() {
	var v4, v6 []cidrEntry
	for i := range s.list {
		ind := &s.list[i]
		s.counts[ind.Kind]++
		switch ind.Kind {
		case KindIP:
			s.ips[netip.MustParseAddr(ind.Value)] = ind
		case KindCIDR:
			p := netip.MustParsePrefix(ind.Value)
			first, last := prefixRange(p)
			if p.Addr().Is4() {
				v4 = append(v4, cidrEntry{first, last, ind})
			} else {
				v6 = append(v6, cidrEntry{first, last, ind})
			}
		case KindDomain:
			s.domains[ind.Value] = ind
		case KindURL:
			s.urls[ind.Value] = ind
		case KindMD5, KindSHA1, KindSHA256:
			s.hashes[ind.Value] = ind // lengths differ, so kinds cannot collide
		case KindEmail:
			s.emails[ind.Value] = ind
		}
	}
	s.v4, s.v6 = buildRanges(v4), buildRanges(v6)
}

// setFields builds the FieldID table from fk.
func (s *Set) setFields(fk FieldKinds) []error {
	var errs []error
	for name, k := range fk {
		if k == "" {
			continue
		}
		if !k.validField() {
			errs = append(errs, fault.New(fault.Invalid, "intel.unknown_kind", "kind", clip(string(k))))
			continue
		}
		id, err := event.Intern(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("intel: field %q: %w", name, err))
			continue
		}
		for int(id) >= len(s.fields) {
			s.fields = append(s.fields, "")
		}
		s.fields[id] = k
	}
	return errs
}

// Len returns the number of indicators in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

// Count returns the number of indicators of kind k.
func (s *Set) Count(k Kind) int {
	if s == nil {
		return 0
	}
	return s.counts[k]
}

// Indicators returns a copy of the set's indicators, values normalised, in
// the order they were given.
func (s *Set) Indicators() []Indicator {
	if s == nil {
		return nil
	}
	return append([]Indicator(nil), s.list...)
}

// Live holds the Set in use and lets a reload replace it while events are
// being matched: a match uses the set that was current when it began. The
// zero Live holds no set and matches nothing.
type Live struct {
	cur atomic.Pointer[Set]
}

// NewLive returns a Live holding s.
func NewLive(s *Set) *Live {
	l := &Live{}
	l.cur.Store(s)
	return l
}

// Replace makes s the set in use; nil empties it.
func (l *Live) Replace(s *Set) { l.cur.Store(s) }

// Set returns the set in use, or nil.
func (l *Live) Set() *Set { return l.cur.Load() }

// MatchEvent matches ev against the set in use (see Set.MatchEvent).
func (l *Live) MatchEvent(ev *event.Event, fn func(Hit)) {
	if s := l.cur.Load(); s != nil {
		s.MatchEvent(ev, fn)
	}
}
