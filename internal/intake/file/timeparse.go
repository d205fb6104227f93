// SPDX-License-Identifier: Apache-2.0

package file

import (
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/intake"
)

// timeLayouts are the written forms of times parseTime knows, zone-less
// ones read in the import's location. A fraction of a second after the
// seconds is accepted by each.
var timeLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006/1/2 15:04:05",
	"2006/1/2 15:04",
	"2006-01-02",
	"2006/1/2",
}

// minTime and maxTime bound the times parseTime accepts: a number outside
// them is not a time.
var (
	minTime = time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

// parseTime reads a time written as a date and time (a zone-less one in
// loc), or as Unix seconds, milliseconds, microseconds or nanoseconds, into
// Unix nanoseconds. It is for CSV cells: intake.ParseTime, which JSON and
// Zeek use, reads zone-less times as UTC and knows no "2024/1/5 9:03" as
// Japanese spreadsheets write.
func parseTime(s string, loc *time.Location) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 8 || len(s) > 40 {
		return 0, false
	}
	if c := s[0]; c < '0' || c > '9' {
		return 0, false
	}
	if s[4] != '-' && s[4] != '/' {
		if ns, ok := intake.ParseTime(s); ok && ns >= minTime && ns < maxTime {
			return ns, true // Unix time
		}
		return 0, false
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			if ns := t.UnixNano(); ns >= minTime && ns < maxTime {
				return ns, true
			}
			return 0, false
		}
	}
	return 0, false
}
