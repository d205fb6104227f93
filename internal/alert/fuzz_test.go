// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

var techniqueRe = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// FuzzDetection feeds arbitrary detections through the cleaning Record
// does, ATT&CK tag parsing and "suppress similar": cleaning never panics,
// yields storable bounded text, is idempotent, and an exclusion made from an
// alert matches the detection the alert came from.
func FuzzDetection(f *testing.F) {
	// Seeds: the metadata of real SigmaHQ rules, and values from real events.
	for _, rel := range []string{
		"sigma/rules/windows/process_creation/proc_creation_win_powershell_base64_encoded_cmd.yml",
		"sigma/rules/windows/builtin/security/win_security_audit_log_cleared.yml",
		"sigma/rules/linux/builtin/lnx_buffer_overflows.yml",
	} {
		b, err := os.ReadFile(shareddata.Path(f, rel))
		if err != nil {
			f.Fatal(err)
		}
		meta := map[string]string{}
		var tags []string
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(k, " ") {
				meta[k] = strings.TrimSpace(v)
			}
			if t, ok := strings.CutPrefix(strings.TrimSpace(line), "- attack."); ok {
				tags = append(tags, "attack."+t)
			}
		}
		f.Add(meta["id"], meta["level"], meta["title"], "WIN-7GVP2K7D9JA", `WIN-7GVP2K7D9JA\Administrator`, strings.Join(tags, ","),
			"CommandLine", `powershell.exe -NoP -sta -NonI -W Hidden -Enc JABXAEMAPQBOAGUAdwA=`, event.DeriveID(1, []byte(rel)).String())
	}
	f.Add("r", "high", "タイトル", "ホスト", "ユーザー\x00", "attack.t1059.001,attack.defense_evasion", "Image", "C:\\x\xff", "nonsense")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("r", "INFO ", strings.Repeat("é", 300), strings.Repeat("\xe3\x81", 200), "u", "attack.T1003,attack.", "F", "v", "")
	s := New(nil, Options{Log: slog.New(slog.DiscardHandler)})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, rule, level, title, host, user, tags, name, value, eventID string) {
		for _, tag := range strings.Split(tags, ",") {
			if id, ok := Technique(tag); ok && !techniqueRe.MatchString(id) {
				t.Errorf("Technique(%q) = %q, not a technique id", tag, id)
			}
			if tc, ok := Tactic(tag); ok && !strings.Contains(strings.Join(Tactics, " "), tc) {
				t.Errorf("Tactic(%q) = %q, not a tactic", tag, tc)
			}
		}
		l, err := ParseLevel(level)
		if err != nil {
			l = LevelMedium
		}
		d := Detection{RuleID: rule, Level: l, RuleTitle: title, Host: host, User: user, Tags: strings.Split(tags, ","),
			Fields: []KV{{Name: name, Value: value}, {Name: "Second", Value: value + value}}, EventIDs: []string{eventID, eventID}}
		c, err := s.clean(d, now)
		if err != nil {
			if strings.TrimSpace(rule) != "" && text(strings.TrimSpace(rule), maxIDLen) != "" {
				t.Fatalf("clean refused a detection with rule %q: %v", rule, err)
			}
			return
		}
		for _, v := range append([]string{c.RuleID, c.RuleTitle, c.Host, c.User, c.Tenant, c.Source}, c.Tags...) {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) || len(v) > maxTitleLen {
				t.Errorf("clean left %q", v)
			}
		}
		for _, kv := range c.Fields {
			if !utf8.ValidString(kv.Name+kv.Value) || strings.ContainsRune(kv.Name+kv.Value, 0) || kv.Name == "" ||
				len(kv.Name) > maxNameLen || len(kv.Value) > maxValueLen {
				t.Errorf("clean left field %q=%q", kv.Name, kv.Value)
			}
		}
		if len(c.EventIDs) > 1 {
			t.Errorf("clean kept %d copies of one event id", len(c.EventIDs))
		}
		again, err := s.clean(c, now)
		if err != nil {
			t.Fatalf("clean(clean(d)): %v", err)
		}
		if diff := cmp.Diff(c, again); diff != "" {
			t.Errorf("clean is not idempotent (-once +twice):\n%s", diff)
		}
		a := Alert{RuleID: c.RuleID, Host: c.Host, User: c.User, Fields: c.Fields}
		for _, fields := range [][]string{{FieldHost}, {FieldUser}, {"Second"}, {FieldHost, FieldUser, "Second"}, {c.Fields[0].Name}} {
			conds, err := similar(a, fields)
			if err != nil {
				continue // the alert has no value there
			}
			x := Exclusion{RuleID: c.RuleID, Conditions: conds}
			if !x.Matches(c) {
				t.Errorf("an exclusion on %v made from the alert does not match its own detection %+v", fields, c)
			}
		}
	})
}
