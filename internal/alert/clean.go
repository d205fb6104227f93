// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
)

// Bounds on what a detection may carry; longer text is cut, further items
// are dropped. They keep one noisy event from bloating the state store.
const (
	maxIDLen     = 256  // rule id, host, user, source, tenant
	maxTitleLen  = 512  // rule title
	maxTagLen    = 128  // one tag
	maxTags      = 64   // tags per alert
	maxFields    = 32   // key fields per alert
	maxNameLen   = 128  // a key field's name
	maxValueLen  = 4096 // a key field's value
	maxReasonLen = 2000 // a triage reason
)

// text makes s storable in both databases: valid UTF-8 without NUL (which
// PostgreSQL refuses in text), at most n bytes, cut at a rune boundary.
func text(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

// clean validates d and returns a copy with every value storable and
// bounded, its time set and its event ids parsed and distinct.
func (s *Service) clean(d Detection, now time.Time) (Detection, error) {
	d.RuleID = text(strings.TrimSpace(d.RuleID), maxIDLen)
	if d.RuleID == "" {
		return Detection{}, fault.New(fault.Invalid, "alert.rule_missing")
	}
	if !d.Level.Valid() {
		return Detection{}, fault.New(fault.Invalid, "alert.level_invalid", "value", text(string(d.Level), maxIDLen))
	}
	if d.Time.IsZero() {
		d.Time = now
	}
	d.Time = d.Time.UTC().Truncate(time.Microsecond)
	if d.Last.Before(d.Time) {
		d.Last = d.Time
	}
	d.Last = d.Last.UTC().Truncate(time.Microsecond)
	if d.Count < 1 {
		d.Count = 1
	}
	d.Tenant = text(d.Tenant, maxIDLen)
	d.Source = text(d.Source, maxIDLen)
	d.RuleTitle = text(d.RuleTitle, maxTitleLen)
	d.Host = text(d.Host, maxIDLen)
	d.User = text(d.User, maxIDLen)

	tags := make([]string, 0, min(len(d.Tags), maxTags))
	for _, t := range d.Tags {
		if t = text(strings.TrimSpace(t), maxTagLen); t != "" && len(tags) < maxTags {
			tags = append(tags, t)
		}
	}
	d.Tags = tags

	fields := make([]KV, 0, min(len(d.Fields), maxFields))
	for _, f := range d.Fields {
		if f.Name = text(f.Name, maxNameLen); f.Name != "" && len(fields) < maxFields {
			fields = append(fields, KV{Name: f.Name, Value: text(f.Value, maxValueLen)})
		}
	}
	d.Fields = fields

	ids := make([]string, 0, len(d.EventIDs))
	seen := make(map[event.ID]bool, len(d.EventIDs))
	bad := 0
	for _, v := range d.EventIDs {
		id, err := event.ParseID(v)
		if err != nil {
			bad++
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id.String())
		}
	}
	if bad > 0 {
		s.log.Warn("detection with malformed event ids", "rule_id", d.RuleID, "dropped", bad)
	}
	d.EventIDs = ids
	return d, nil
}
