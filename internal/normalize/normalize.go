// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"context"
	"slices"
	"strings"

	"github.com/koban-csirt/koban/internal/event"
)

// fieldInfo is what the normaliser knows about one interned field name.
type fieldInfo struct {
	slot slot
	// ecs is 1 + the index into Normalizer.ecs of the canonical names an
	// ECS alias stands for in Windows events; 0 when the name is no such
	// alias.
	ecs uint16
	// ren is, per shape, the canonical name the field is renamed to.
	ren [nShapes]event.FieldID
}

// Normalizer turns intake's events into the shape the detection engine and
// the event store expect. Its tables are built once by New and only read
// afterwards, so one Normalizer is safe for concurrent use.
type Normalizer struct {
	ids       [nSlots]event.FieldID
	info      []fieldInfo // indexed by FieldID
	ecs       [][]event.FieldID
	channels  foldMap
	providers foldMap
	programs  foldMap
}

// New returns a normaliser (its tables are built once; safe for concurrent use).
func New() *Normalizer {
	n := &Normalizer{
		channels:  newFoldMap(windowsChannels),
		providers: newFoldMap(windowsProviders),
		programs:  newFoldMap(syslogPrograms),
	}
	maxID := event.FieldID(0)
	intern := func(name string) event.FieldID {
		id := event.MustIntern(name)
		maxID = max(maxID, id)
		return id
	}
	for s := sNone + 1; s < nSlots; s++ {
		n.ids[s] = intern(slotNames[s])
	}
	type ren struct {
		from, to event.FieldID
		sh       shape
	}
	var rens []ren
	ecsOf := map[event.FieldID][]event.FieldID{}
	var ecsOrder []event.FieldID
	for _, t := range tables {
		for _, p := range t.pairs {
			a, c := intern(p.alias), intern(p.canonical)
			if t.shape != shNone {
				rens = append(rens, ren{a, c, t.shape})
			}
			if t.ecs {
				if _, ok := ecsOf[a]; !ok {
					ecsOrder = append(ecsOrder, a)
				}
				if !slices.Contains(ecsOf[a], c) {
					ecsOf[a] = append(ecsOf[a], c)
				}
			}
		}
	}
	n.info = make([]fieldInfo, maxID+1)
	for s := sNone + 1; s < nSlots; s++ {
		n.info[n.ids[s]].slot = s
	}
	for _, r := range rens {
		if n.info[r.from].ren[r.sh] == 0 {
			n.info[r.from].ren[r.sh] = r.to
		}
	}
	for _, a := range ecsOrder {
		n.ecs = append(n.ecs, ecsOf[a])
		n.info[a].ecs = uint16(len(n.ecs))
	}
	return n
}

// kind is what produced an event, as far as its fields tell.
type kind uint8

const (
	kGeneric kind = iota
	kWindows
	kWinlogbeat
	kWLB6
	kZeek
	kSuricata
	kFortigate
	kW3C
	kAzure
	kSyslog
	kMessage
)

// kind decides the source kind from the logsource intake set and the
// fields present.
func (n *Normalizer) kind(e *event.Event, sc *scan) kind {
	switch e.Log.Product {
	case "windows":
		if sc.has(sWinlogEventID) || sc.has(sWinlogChannel) {
			return kWinlogbeat
		}
		return kWindows
	case "zeek":
		return kZeek
	case "suricata":
		return kSuricata
	}
	switch {
	case sc.has(sWinlogEventID) || sc.has(sWinlogChannel) || sc.has(sWinlogProviderName):
		return kWinlogbeat
	case sc.has(sWLB6EventID) && sc.has(sLogName):
		return kWLB6
	case sc.has(sEventID) && (sc.has(sChannel) || sc.has(sProviderName) || sc.has(sSourceName) || sc.has(sProviderNameAlt)):
		return kWindows
	case sc.has(sZeekPath) && (sc.has(sTs) || sc.has(sWriteTs)),
		sc.has(sStream) && sc.has(sTs),
		sc.has(sUID) && sc.has(sTs) && (sc.has(sIDOrigH) || sc.has(sIDOrigHU)):
		return kZeek
	case sc.has(sSuriEventType) && sc.has(sTimestamp) &&
		(sc.has(sFlowID) || sc.has(sSrcIP) || sc.val(e, sSuriEventType) == "stats"):
		return kSuricata
	case sc.has(sDevID) || sc.has(sLogID) && sc.has(sDevName):
		return kFortigate
	case sc.has(sCsMethodProxy) && (sc.has(sCsURIStem) || sc.has(sCsURIQuery)):
		return kW3C
	case sc.has(sSyslogMessage):
		return kAzure
	case sc.has(sProgram) || sc.has(sFacility) || sc.has(sPriority):
		return kSyslog
	case sc.has(sMessage):
		return kMessage
	}
	return kGeneric
}

// Event normalises e in place: sets e.Log (product/category/service) where
// derivable, renames fields to canonical (Sigma) names, adds derived fields,
// sets e.Host when empty and knowable, sets e.Time from the event's own time
// fields when intake could not, and checks the clock: a time more than 1
// hour after e.Received, or before 1990, is replaced by e.Received with
// FlagTimeSkew (original text kept in field "event_time_raw"); no time at
// all → e.Time = e.Received, FlagNoTime.
//
// Parts of e.Log that intake already set are kept. Event is idempotent:
// normalising an event twice gives what normalising it once gave, so a sink
// may retry a batch.
func (n *Normalizer) Event(e *event.Event) {
	var sc scan
	n.index(e, &sc)
	var t string
	switch n.kind(e, &sc) {
	case kWindows:
		if !sc.has(sProviderName) && (sc.has(sSourceName) || sc.has(sProviderNameAlt)) {
			n.renameShape(e, &sc, shNXLog)
		}
		t = n.windows(e, &sc)
	case kWinlogbeat:
		n.renameShape(e, &sc, shWinlogbeat)
		n.dropECS(e, &sc)
		t = n.windows(e, &sc)
	case kWLB6:
		n.renameShape(e, &sc, shWLB6)
		t = n.windows(e, &sc)
	case kZeek:
		t = n.zeek(e, &sc)
	case kSuricata:
		t = n.suricata(e, &sc)
	case kFortigate:
		t = n.fortigate(e, &sc)
	case kW3C:
		t = n.w3c(e, &sc)
	case kAzure:
		n.renameShape(e, &sc, shAzure)
		t = n.syslog(e, &sc)
		if t == "" {
			t, _ = sc.first(e, sTimeGenerated, sEventTime)
		}
	case kSyslog:
		t = n.syslog(e, &sc)
	case kMessage:
		t = n.message(e, &sc)
	default:
		t = n.generic(e, &sc)
	}
	n.clock(e, &sc, t)
}

// generic handles JSON of no known kind: it only finds host and time.
func (n *Normalizer) generic(e *event.Event, sc *scan) string {
	if e.Host == "" {
		e.Host, _ = sc.first(e, sHostName, sHostHostname, sHostname, sHostnameCap, sHostNameAzure,
			sComputerName, sComputer, sComputerNameCap, sAgentHostname, sHost)
	}
	t, _ := sc.first(e, sAtTimestamp, sTimestamp, sTime, sTs, sDatetime, sEventTimeLower, sEventTime,
		sTimeGenerated, sTimeCreated, sUnderTime, sCreatedAt, sDate)
	return t
}

// hasID reports whether e has field id.
func hasID(e *event.Event, id event.FieldID) bool {
	for i := range e.Fields {
		if e.Fields[i].ID == id {
			return true
		}
	}
	return false
}

// rename gives the field of slot from the name of slot to; when the event
// already has a field to, the field from is dropped instead.
func (n *Normalizer) rename(e *event.Event, sc *scan, from, to slot) {
	i := sc.at[from]
	if i == 0 {
		return
	}
	if sc.has(to) {
		e.Fields = slices.Delete(e.Fields, int(i-1), int(i))
		n.index(e, sc)
		return
	}
	e.Fields[i-1].ID = n.ids[to]
	sc.at[to], sc.at[from] = i, 0
}

// renameShape renames the fields of shape sh to canonical names (dropping
// an alias whose canonical field is already there) and re-indexes.
func (n *Normalizer) renameShape(e *event.Event, sc *scan, sh shape) {
	changed := false
	for i := 0; i < len(e.Fields); i++ {
		id := e.Fields[i].ID
		var to event.FieldID
		if int(id) < len(n.info) {
			to = n.info[id].ren[sh]
		}
		if to == 0 && (sh == shWinlogbeat || sh == shWLB6) {
			to = prefixed(e, id, sh)
		}
		if to == 0 || to == id {
			continue
		}
		changed = true
		if hasID(e, to) {
			e.Fields = slices.Delete(e.Fields, i, i+1)
			i--
			continue
		}
		e.Fields[i].ID = to
	}
	if changed {
		n.index(e, sc)
	}
}

// prefixed returns the id of the EventData or UserData name inside a
// Winlogbeat name ("winlog.event_data.CommandLine" → CommandLine), or 0.
func prefixed(e *event.Event, id event.FieldID, sh shape) event.FieldID {
	name := id.Name()
	p1, p2 := "winlog.event_data.", "winlog.user_data."
	if sh == shWLB6 {
		p1, p2 = "event_data.", "user_data."
	}
	rest, ok := strings.CutPrefix(name, p1)
	if !ok {
		rest, ok = strings.CutPrefix(name, p2)
	}
	if !ok || rest == "" {
		return 0
	}
	to, err := event.Intern(rest)
	if err != nil {
		e.Flag(event.FlagFieldsDropped, "too many distinct field names")
		return 0
	}
	return to
}

// dropECS handles the ECS fields Winlogbeat and Elastic Agent add beside the
// event's own: one whose canonical field is there is dropped (the event
// keeps canonical names only; Canonical maps queries on the ECS name), one
// whose canonical field is missing is renamed to it.
func (n *Normalizer) dropECS(e *event.Event, sc *scan) {
	changed := false
	for i := 0; i < len(e.Fields); i++ {
		id := e.Fields[i].ID
		if int(id) >= len(n.info) || n.info[id].ecs == 0 {
			continue
		}
		changed = true
		targets := n.ecs[n.info[id].ecs-1]
		present := false
		for _, t := range targets {
			if hasID(e, t) {
				present = true
				break
			}
		}
		if present {
			e.Fields = slices.Delete(e.Fields, i, i+1)
			i--
			continue
		}
		e.Fields[i].ID = targets[0]
	}
	if changed {
		n.index(e, sc)
	}
}

// Sink returns an event.Sink that normalises each event then appends to next.
// The events are normalised in place, in the caller's slice; a retried
// batch is normalised again, which changes nothing (see Event).
func (n *Normalizer) Sink(next event.Sink) event.Sink {
	return sink{n: n, next: next}
}

type sink struct {
	n    *Normalizer
	next event.Sink
}

func (s sink) Append(ctx context.Context, events []event.Event) error {
	for i := range events {
		s.n.Event(&events[i])
	}
	return s.next.Append(ctx, events)
}
