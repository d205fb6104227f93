// SPDX-License-Identifier: Apache-2.0

package sigma_test

import (
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/sigma"
)

// TestExclusions: a compiled exclusion drops matches whose event has all its
// values (case-insensitively), until it expires.
func TestExclusions(t *testing.T) {
	rules, probs := sigma.Parse("r.yml", []byte(`
title: whoami
id: 3c0b7c2e-7a0e-4c55-9f0e-0b6e1f4d2a11
logsource: {product: windows}
detection:
  s: {Image|endswith: '\whoami.exe'}
  condition: s
`))
	if len(probs) > 0 {
		t.Fatal(probs[0])
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	o := sigma.Options{
		Now: func() time.Time { return now },
		Exclusions: []sigma.Exclusion{{RuleID: "3c0b7c2e-7a0e-4c55-9f0e-0b6e1f4d2a11", Expires: now.Add(time.Hour),
			Conditions: []sigma.FieldValue{{Field: "Computer", Value: "ADMIN-PC"}, {Field: "User", Value: `corp\it`}}}},
	}
	rs, cp := sigma.Compile(rules, o)
	if len(cp) > 0 {
		t.Fatal(cp[0])
	}
	mk := func(computer, user string) *event.Event {
		ev := &event.Event{Log: event.LogSource{Product: "windows"}}
		ev.Add("Image", `C:\Windows\System32\whoami.exe`)
		ev.Add("Computer", computer)
		ev.Add("User", user)
		return ev
	}
	count := func(ev *event.Event) int {
		n := 0
		rs.NewMatcher().Match(ev, func(sigma.Match) { n++ })
		return n
	}
	if n := count(mk("admin-pc", `CORP\IT`)); n != 0 {
		t.Errorf("excluded event matched %d times", n)
	}
	if n := count(mk("admin-pc", `CORP\bob`)); n != 1 {
		t.Errorf("event with only one excluded value matched %d times, want 1", n)
	}
	now = now.Add(2 * time.Hour)
	if n := count(mk("admin-pc", `CORP\IT`)); n != 1 {
		t.Errorf("after expiry: %d matches, want 1", n)
	}
}
