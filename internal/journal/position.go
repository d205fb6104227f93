// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in the journal: the first byte of a record, or the end
// of the journal. Positions order as (Segment, Offset).
type Position struct {
	Segment uint64
	Offset  int64
}

// String returns the text form "SEGMENT:OFFSET", for storing elsewhere.
func (p Position) String() string {
	return strconv.FormatUint(p.Segment, 10) + ":" + strconv.FormatInt(p.Offset, 10)
}

// ParsePosition parses the text form written by Position.String.
func ParsePosition(s string) (Position, error) {
	seg, off, ok := strings.Cut(s, ":")
	if !ok {
		return Position{}, fmt.Errorf("journal: position %q: want SEGMENT:OFFSET", s)
	}
	n, err := strconv.ParseUint(seg, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("journal: position %q: bad segment", s)
	}
	o, err := strconv.ParseInt(off, 10, 64)
	if err != nil || o < 0 {
		return Position{}, fmt.Errorf("journal: position %q: bad offset", s)
	}
	return Position{Segment: n, Offset: o}, nil
}

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}
