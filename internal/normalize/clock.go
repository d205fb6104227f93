// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// MaxAhead is how far after its received time an event's own time may lie
// before the normaliser treats the source's clock as wrong.
const MaxAhead = time.Hour

// minTime is 1990-01-01 UTC: an earlier event time is a wrong clock (or an
// unset one: the epoch).
var minTime = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// Reasons the clock check gives, for people.
const (
	reasonAhead    = "event time is more than an hour after koban received it; received time used"
	reasonTooEarly = "event time is before 1990; received time used"
	reasonNoTime   = "event carries no time; received time used"
	reasonBadTime  = "event time could not be read; received time used"
)

// clock sets e.Time from text, the event's own time, when intake left it
// unset, then checks it against e.Received.
func (n *Normalizer) clock(e *event.Event, sc *scan, text string) {
	if e.Time == 0 {
		if text == "" {
			e.Time = e.Received
			e.Flag(event.FlagNoTime, reasonNoTime)
			return
		}
		t, ok := parseTime(text)
		if !ok {
			e.Time = e.Received
			e.Flag(event.FlagNoTime, reasonBadTime)
			n.keepRaw(e, sc, text)
			return
		}
		e.Time = t
	}
	var reason string
	switch {
	case e.Time < minTime:
		reason = reasonTooEarly
	case e.Received != 0 && e.Time > e.Received+int64(MaxAhead):
		reason = reasonAhead
	default:
		return
	}
	if text == "" {
		text = time.Unix(0, e.Time).UTC().Format(time.RFC3339Nano)
	}
	n.keepRaw(e, sc, text)
	e.Time = e.Received
	e.Flag(event.FlagTimeSkew, reason)
}

// keepRaw keeps the event's original time text, once: a second
// normalisation must not overwrite it with the replacement.
func (n *Normalizer) keepRaw(e *event.Event, sc *scan, text string) {
	if !sc.has(sEventTimeRaw) {
		n.set(e, sc, sEventTimeRaw, text)
	}
}
