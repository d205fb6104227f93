// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/koban-csirt/koban/internal/fault"
)

// Bounds on what people write, in characters. Longer text is refused with
// a message naming the field, not cut: a person's words are not dropped
// silently.
const (
	maxIDLen          = 256   // tenant, role names, values echoed in errors
	maxTitleLen       = 200   // incident title
	maxDescriptionLen = 20000 // incident description
	maxReasonLen      = 2000  // reasons and closing summaries
	maxItemLen        = 256   // one affected asset or user, one tag
	maxItems          = 200   // affected assets or users
	maxTags           = 32    // tags
	maxTechniques     = 64    // ATT&CK techniques
	maxFields         = 50    // custom fields
	maxFieldNameLen   = 64    // a custom field's name
	maxFieldValueLen  = 2000  // a custom field's value
	maxAssignees      = 20    // assignees
	maxTextLen        = 200   // the list's search text
)

// scrub makes text safe to store and show: valid UTF-8 in NFC, line ends
// as \n, and no control characters — C0 (tab and, when multiline, \n
// excepted), DEL, C1 — nor the bidirectional embedding, override and
// isolate marks that make text display in another order than it reads.
// Everything else, including HTML, is kept as written: escaping is the
// web's job. When multiline is false, tabs and line ends become spaces.
// Surrounding space is trimmed.
func scrub(s string, multiline bool) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r == '\r' || dropRune(r) || (!multiline && (r == '\n' || r == '\t'))
	}) {
		return strings.TrimSpace(norm.NFC.String(s))
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				break // the \n that follows ends the line
			}
			if multiline {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
		case r == '\n' || r == '\t':
			if multiline {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		case dropRune(r):
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return strings.TrimSpace(norm.NFC.String(b.String()))
}

// dropRune reports whether scrub removes r (tab and line ends are decided
// by the caller).
func dropRune(r rune) bool {
	switch {
	case r == '\n' || r == '\t' || r == '\r':
		return false
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// clip returns s cut to at most n characters.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// cleanLine scrubs one line and cuts it to n characters: for values shown
// back in errors and for text koban writes itself.
func cleanLine(s string, n int) string { return clip(scrub(s, false), n) }

// cleanText scrubs multi-line text and cuts it to n characters.
func cleanText(s string, n int) string { return clip(scrub(s, true), n) }

// inputCheck collects the problems of one input, field by field, while it
// cleans the values.
type inputCheck struct{ errs fault.List }

func (c *inputCheck) add(field, msg string, args ...any) {
	c.errs = append(c.errs, fault.InvalidField(field, msg, args...))
}

// line cleans a one-line value; too long or (when required) empty is a
// problem of field.
func (c *inputCheck) line(field, s string, max int, required bool) string {
	return c.bounded(field, scrub(s, false), max, required)
}

// text cleans a multi-line value, as line does.
func (c *inputCheck) text(field, s string, max int, required bool) string {
	return c.bounded(field, scrub(s, true), max, required)
}

func (c *inputCheck) bounded(field, s string, max int, required bool) string {
	switch {
	case required && s == "":
		c.add(field, "incident.field_required")
	case utf8.RuneCountInString(s) > max:
		c.add(field, "incident.field_too_long", "max", max)
		return clip(s, max)
	}
	return s
}

// list cleans a list of one-line values, dropping empty ones and repeats.
func (c *inputCheck) list(field string, ss []string, maxLen, maxN int) []string {
	var out []string
	for _, s := range ss {
		if s = c.line(field, s, maxLen, false); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > maxN {
		c.add(field, "incident.field_too_many", "max", maxN)
		out = out[:maxN]
	}
	return out
}

// techniques normalises ATT&CK technique ids (t1059.001 → T1059.001).
func (c *inputCheck) techniques(ids []string) []string {
	var out []string
	for _, id := range ids {
		id = strings.ToUpper(scrub(id, false))
		if id == "" {
			continue
		}
		if !validTechnique(id) {
			c.add("techniques", "incident.technique_invalid", "value", clip(id, maxIDLen))
			continue
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxTechniques {
		c.add("techniques", "incident.field_too_many", "max", maxTechniques)
		out = out[:maxTechniques]
	}
	return out
}

// validTechnique reports whether id is T followed by four digits and
// optionally a dot and three more.
func validTechnique(id string) bool {
	digits := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	switch {
	case len(id) == 5:
		return id[0] == 'T' && digits(id[1:])
	case len(id) == 9:
		return id[0] == 'T' && digits(id[1:5]) && id[5] == '.' && digits(id[6:])
	}
	return false
}

// fields cleans custom fields: a name is required, names are distinct.
func (c *inputCheck) fields(fs []Field) []Field {
	var out []Field
	for _, f := range fs {
		name := c.line("fields", f.Name, maxFieldNameLen, false)
		value := c.text("fields", f.Value, maxFieldValueLen, false)
		if name == "" {
			if value != "" {
				c.add("fields", "incident.field_name_missing")
			}
			continue
		}
		if slices.ContainsFunc(out, func(o Field) bool { return strings.EqualFold(o.Name, name) }) {
			c.add("fields", "incident.field_twice", "name", name)
			continue
		}
		out = append(out, Field{Name: name, Value: value})
	}
	if len(out) > maxFields {
		c.add("fields", "incident.field_too_many", "max", maxFields)
		out = out[:maxFields]
	}
	return out
}
