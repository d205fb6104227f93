// SPDX-License-Identifier: Apache-2.0

package normalize

import "github.com/koban-csirt/koban/internal/event"

// categoryParents lists, for an event category, the wider categories whose
// rules also apply: Sigma's registry_event covers Sysmon events 12, 13 and
// 14, which the normaliser files under the narrower registry_add,
// registry_delete, registry_set and registry_rename (thor.yml maps each
// event id to both).
var categoryParents = map[string]string{
	"registry_add":    "registry_event",
	"registry_delete": "registry_event",
	"registry_set":    "registry_event",
	"registry_rename": "registry_event",
}

// serviceParents lists, per product, the wider services whose rules also
// apply to an event's service: linux auth (/var/log/auth.log) holds sshd,
// sudo and the other login programs; linux syslog (/var/log/syslog) holds
// every program's messages except the audit trail.
var serviceParents = map[string]map[string][]string{
	"linux": {
		"sshd":      {"auth", "syslog"},
		"sudo":      {"auth", "syslog"},
		"auth":      {"syslog"},
		"cron":      {"syslog"},
		"vsftpd":    {"syslog"},
		"clamav":    {"syslog"},
		"guacamole": {"syslog"},
	},
	"windows": {
		// SigmaHQ's rule still says microsoft-servicebus-client, with a
		// comment to change it to thor.yml's servicebus-client.
		"servicebus-client": {"microsoft-servicebus-client"},
	},
}

// Matches reports whether a rule with logsource rule applies to an event
// with logsource ev: each part the rule names must be the event's, where a
// category or service also covers its narrower ones (registry_event covers
// registry_set; linux auth covers sshd). A rule part that is empty matches
// anything, as Sigma defines.
func Matches(rule, ev event.LogSource) bool {
	if rule.Product != "" && rule.Product != ev.Product {
		return false
	}
	if rule.Category != "" && rule.Category != ev.Category && categoryParents[ev.Category] != rule.Category {
		return false
	}
	if rule.Service != "" && rule.Service != ev.Service {
		found := false
		for _, p := range serviceParents[ev.Product][ev.Service] {
			if p == rule.Service {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
