// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"strings"

	"github.com/koban-csirt/koban/internal/fault"
)

// Level is how severe an alert is, with Sigma's words, stored as-is.
type Level string

// The levels, least severe first.
const (
	LevelInformational Level = "informational"
	LevelLow           Level = "low"
	LevelMedium        Level = "medium"
	LevelHigh          Level = "high"
	LevelCritical      Level = "critical"
)

// Levels lists every level, least severe first.
var Levels = []Level{LevelInformational, LevelLow, LevelMedium, LevelHigh, LevelCritical}

// ParseLevel reads a level case-insensitively, ignoring surrounding space.
// "info" is accepted for informational. Anything else is Invalid.
func ParseLevel(s string) (Level, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "info" {
		return LevelInformational, nil
	}
	if l := Level(s); l.Valid() {
		return l, nil
	}
	return "", fault.New(fault.Invalid, "alert.level_invalid", "value", s)
}

// Valid reports whether l is one of the levels.
func (l Level) Valid() bool { return l.Rank() > 0 }

// Rank orders levels: 1 for informational up to 5 for critical, 0 for an
// invalid level.
func (l Level) Rank() int {
	switch l {
	case LevelInformational:
		return 1
	case LevelLow:
		return 2
	case LevelMedium:
		return 3
	case LevelHigh:
		return 4
	case LevelCritical:
		return 5
	}
	return 0
}

// Compare returns -1, 0 or +1 as l is less, as or more severe than o.
// Invalid levels sort below informational.
func (l Level) Compare(o Level) int {
	a, b := l.Rank(), o.Rank()
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// AtLeast reports whether l is as severe as min or more.
func (l Level) AtLeast(min Level) bool { return l.Compare(min) >= 0 }
