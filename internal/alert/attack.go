// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"slices"
	"strings"
)

// Tactics lists the MITRE ATT&CK Enterprise tactics by their short names
// (x_mitre_shortname), in kill-chain order. Sigma tags name them with dashes
// (attack.defense-evasion) or, in older rules, underscores. Stealth and
// defense-impairment are the tactics that replace defense-evasion after
// ATT&CK v18, which SigmaHQ rules already use.
var Tactics = []string{
	"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
	"privilege-escalation", "defense-evasion", "stealth", "defense-impairment", "credential-access",
	"discovery", "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
}

// Technique returns the ATT&CK technique id of a Sigma tag such as
// "attack.t1059.001" in upper case ("T1059.001"), and whether the tag names
// one. Sub-techniques keep their suffix.
func Technique(tag string) (string, bool) {
	rest, ok := attackTag(tag)
	if !ok || len(rest) < 5 || (rest[0] != 't' && rest[0] != 'T') || !digits(rest[1:5]) {
		return "", false
	}
	switch {
	case len(rest) == 5:
	case len(rest) == 9 && rest[5] == '.' && digits(rest[6:9]):
	default:
		return "", false
	}
	return "T" + rest[1:], true
}

// Tactic returns the ATT&CK tactic of a Sigma tag such as
// "attack.defense-evasion" or "attack.defense_evasion" as it appears in
// Tactics ("defense-evasion"), and whether the tag names one.
func Tactic(tag string) (string, bool) {
	rest, ok := attackTag(tag)
	if !ok {
		return "", false
	}
	rest = strings.ReplaceAll(strings.ToLower(rest), "_", "-")
	if slices.Contains(Tactics, rest) {
		return rest, true
	}
	return "", false
}

// Techniques returns the distinct technique ids among tags, in tag order.
func Techniques(tags []string) []string { return collect(tags, Technique) }

// TacticsOf returns the distinct tactics among tags, in kill-chain order.
func TacticsOf(tags []string) []string {
	out := collect(tags, Tactic)
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Tactics, a) - slices.Index(Tactics, b) })
	return out
}

func collect(tags []string, pick func(string) (string, bool)) []string {
	var out []string
	for _, t := range tags {
		if v, ok := pick(t); ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// attackTag returns what follows "attack." in a tag, case-insensitively.
func attackTag(tag string) (string, bool) {
	tag = strings.TrimSpace(tag)
	if len(tag) <= len("attack.") || !strings.EqualFold(tag[:len("attack.")], "attack.") {
		return "", false
	}
	return tag[len("attack."):], true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
