// SPDX-License-Identifier: Apache-2.0

package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/shareddata"
)

// TestRulesTestSigmaHQ runs SigmaHQ's regression data with koban rules
// test: every case of the manifest passes.
func TestRulesTestSigmaHQ(t *testing.T) {
	t.Parallel()
	base := shareddata.Path(t, "sigma")
	b, err := os.ReadFile(filepath.Join(base, "regression_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		RuleID string `json:"rule_id"`
		EVTX   string `json:"evtx_path"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runIn(t, t.TempDir(), "", map[string]string{"KOBAN_DETECTION_OWN_RULES": "false"},
		"rules", "test", filepath.Join(base, "regression_data"))
	if err != nil {
		t.Errorf("rules test: %v\nstderr:\n%s", err, errOut)
	}
	m := testTotals.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no totals line:\n%s", out)
	}
	pass, _ := strconv.Atoi(m[1])
	if pass != len(manifest) || m[2] != "0" {
		t.Errorf("%s passed, %s failed, %s skipped; want all %d cases of the manifest to pass\n%s", m[1], m[2], m[3], len(manifest), out)
	}
	for _, c := range manifest {
		dir := filepath.ToSlash(filepath.Dir(strings.TrimPrefix(c.EVTX, "regression_data/")))
		if !regexp.MustCompile(`(?m)^PASS  ` + regexp.QuoteMeta(dir) + `: .*` + c.RuleID + ` matched`).MatchString(out) {
			t.Errorf("no PASS line for %s (%s)", dir, c.RuleID)
		}
	}
}

// ownCase writes a test case of koban's layout.
func ownCase(t *testing.T, dir, rule, events, expect string) {
	t.Helper()
	files := map[string]string{"events.jsonl": events, "expect.yml": expect}
	if rule != "" {
		files["rule.yml"] = rule
	}
	write(t, dir, files)
}

// failedLogons is a correlation (3 failed logons for one account within
// 5 minutes) over a detection rule that only feeds it.
const failedLogons = `title: Failed logon
id: b0000000-0000-4000-8000-000000000001
name: failed_logon
status: test
level: informational
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
---
title: Brute force
id: b0000000-0000-4000-8000-000000000002
status: test
level: high
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [TargetUserName]
    timespan: 5m
    condition:
        gte: 3
`

func logon(id int, user, at string) string {
	return fmt.Sprintf(`{"EventID":%d,"Channel":"Security","Computer":"dc1.example.jp","TargetUserName":%q,"@timestamp":%q}`, id, user, at)
}

func TestRulesTestOwnLayout(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	events := strings.Join([]string{
		logon(4625, "alice", "2026-01-05T09:00:00Z"), logon(4625, "alice", "2026-01-05T09:01:00Z"),
		logon(4625, "bob", "2026-01-05T09:01:30Z"), "", logon(4625, "alice", "2026-01-05T09:02:00Z"),
		logon(4624, "alice", "2026-01-05T09:03:00Z"),
	}, "\n") + "\n"
	ownCase(t, filepath.Join(root, "brute_force"), failedLogons, events,
		"matches:\n  - {rule: failed_logon, count: 4}\n  - {rule: b0000000-0000-4000-8000-000000000002, count: 1}\n")
	ownCase(t, filepath.Join(root, "quiet"), failedLogons, logon(4624, "alice", "2026-01-05T09:03:00Z")+"\n",
		"no_match: [failed_logon, b0000000-0000-4000-8000-000000000002]\n")
	ownCase(t, filepath.Join(root, "nested", "by_id"), "", `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\Windows\\System32\\whoami.exe"}`+"\n",
		"matches:\n  - rule: "+ruleWhoami+"\n")
	rules := t.TempDir()
	write(t, rules, map[string]string{"whoami.yml": sigmaRule(ruleWhoami, "Whoami", "medium", "whoami.exe")})
	dir := t.TempDir()
	out, errOut, err := run(t, dir, "rules", "test", "--rules", rules, root)
	if err != nil {
		t.Fatalf("rules test: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	for _, want := range []string{"PASS  brute_force: 5 events;", "PASS  quiet:", "PASS  nested/by_id:", "3 passed, 0 failed, 0 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Wrong expectations fail with the reason, and the command exits 1.
	bad := t.TempDir()
	ownCase(t, filepath.Join(bad, "wrong_count"), failedLogons, events, "matches:\n  - {rule: failed_logon, count: 2}\nno_match: [b0000000-0000-4000-8000-000000000002]\n")
	ownCase(t, filepath.Join(bad, "unknown_rule"), failedLogons, events, "matches:\n  - rule: nosuchrule\n")
	ownCase(t, filepath.Join(bad, "typo"), failedLogons, events, "match:\n  - rule: failed_logon\n")
	ownCase(t, filepath.Join(bad, "bad_json"), failedLogons, "{not json\n", "matches:\n  - rule: failed_logon\n")
	ownCase(t, filepath.Join(bad, "broken_rule"), brokenRule, events, "matches:\n  - rule: failed_logon\n")
	out, _, err = run(t, dir, "rules", "test", bad)
	if err == nil || ExitCode(err, &strings.Builder{}) != 1 {
		t.Errorf("rules test with failing cases: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{
		"FAIL  wrong_count: rule failed_logon matched 4 time(s) in 5 events, want 2; rule b0000000-0000-4000-8000-000000000002 matched 1 time(s) in 5 events, want none",
		"FAIL  unknown_rule: rule nosuchrule is not among the rules loaded",
		"FAIL  typo: ", "field match not found",
		"FAIL  bad_json: ", "events.jsonl:1: ",
		"FAIL  broken_rule: ", "rule.yml:10:",
		"0 passed, 5 failed, 0 skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
