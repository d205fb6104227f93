// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"slices"
	"strings"

	"github.com/koban-csirt/koban/internal/i18n"
)

// entryArgLabels says which message labels an automatic timeline entry's
// argument: by message id, then argument name, the label's id with %s for
// the stored word, or the prefix the stored word is appended to. Arguments
// not listed are shown as written.
var entryArgLabels = map[string]map[string]string{
	"incident.timeline.phase":         {"from": "incident.phase.", "to": "incident.phase."},
	"incident.timeline.status":        {"from": "incident.status.", "to": "incident.status."},
	"incident.timeline.closed":        {"from": "incident.phase.", "resolution": "incident.resolution."},
	"incident.timeline.reopened":      {"to": "incident.phase."},
	"incident.timeline.task_status":   {"from": "incident.task_status.", "to": "incident.task_status."},
	"incident.timeline.action_status": {"from": "incident.action_status.", "to": "incident.action_status."},
	"incident.timeline.changed_type":  {"from": "incident.type.", "to": "incident.type."},
	"incident.timeline.changed_flags": {"to": "incidentclock.flag."},
	"incident.timeline.assessed":      {"severity": "incident.severity.level."},
	"incident.timeline.override":      {"severity": "incident.severity.level."},
	"incident.timeline.unlinked":      {"kind": "incident.link_kind."},
	"incidentobs.timeline.alert":      {"level": "alert.level."},
	"comms.timeline.contact_added":    {"kind": "comms.kind."},
	"comms.timeline.report_created":   {"kind": "comms.report.%s.title"},
	"comms.timeline.report_edited":    {"kind": "comms.report.%s.title"},
	"comms.timeline.report_refreshed": {"kind": "comms.report.%s.title"},
	"comms.timeline.report_sent":      {"kind": "comms.report.%s.title"},
}

// entryArgLists names the arguments that hold a list of stored words
// joined with ", ", each labelled.
var entryArgLists = map[string]string{"incident.timeline.changed_flags": "to"}

// TimelineTranslate returns a Translate that renders automatic timeline
// entries in lang, for pages, exports and report drafts alike: the stored
// words among their arguments (phases, statuses, severities, flags, alert
// levels …) become their labels. An entry whose message the catalogue
// lacks is rendered as its id followed by its arguments.
func TimelineTranslate(cat *i18n.Catalog, lang i18n.Lang) Translate {
	label := func(pattern, val string) string {
		id := pattern + val
		if strings.Contains(pattern, "%s") {
			id = strings.Replace(pattern, "%s", val, 1)
		}
		if val == "" || !cat.Has(lang, id) {
			return val
		}
		return cat.T(lang, id)
	}
	sep := ", "
	if cat.Has(lang, "incidents.list_sep") {
		sep = cat.T(lang, "incidents.list_sep")
	}
	return func(msg string, args ...any) string {
		if !cat.Has(i18n.English, msg) {
			parts := []string{msg}
			for _, a := range args {
				if s, ok := a.(string); ok {
					parts = append(parts, s)
				}
			}
			return strings.Join(parts, " ")
		}
		labels := entryArgLabels[msg]
		out := slices.Clone(args)
		for i := 0; i+1 < len(out); i += 2 {
			name, _ := out[i].(string)
			val, _ := out[i+1].(string)
			pattern, ok := labels[name]
			switch {
			case !ok:
			case entryArgLists[msg] == name && val != "":
				words := strings.Split(val, ", ")
				for j, w := range words {
					words[j] = label(pattern, w)
				}
				out[i+1] = strings.Join(words, sep)
			default:
				out[i+1] = label(pattern, val)
			}
		}
		return strings.TrimSpace(cat.T(lang, msg, out...))
	}
}
