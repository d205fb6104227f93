// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/shareddata"
)

// scanRecords parses the jsonl timeline.
func scanRecords(t *testing.T, out string) []scanRecord {
	t.Helper()
	var recs []scanRecord
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r scanRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

var detectionsLine = regexp.MustCompile(`(?m)^Detections: (\d+) \(critical (\d+), high (\d+), medium (\d+), low (\d+), informational (\d+)\)$`)

// detectionsIn returns the count on the summary's Detections line.
func detectionsIn(t *testing.T, summary string) int {
	t.Helper()
	m := detectionsLine.FindStringSubmatch(summary)
	if m == nil {
		t.Fatalf("no Detections line in:\n%s", summary)
	}
	n, _ := strconv.Atoi(m[1])
	sum := 0
	for _, s := range m[2:] {
		k, _ := strconv.Atoi(s)
		sum += k
	}
	if sum != n {
		t.Errorf("detections by level add up to %d, total says %d", sum, n)
	}
	return n
}

// TestScanRegressionSamples scans the samples of SigmaHQ's regression
// tests for Windows rules with every rule in rules/windows: each sample
// yields at least match_count detections of the rule it was made for.
func TestScanRegressionSamples(t *testing.T) {
	t.Parallel()
	base := shareddata.Path(t, "sigma")
	b, err := os.ReadFile(filepath.Join(base, "regression_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest []struct {
		RuleID   string `json:"rule_id"`
		RulePath string `json:"rule_path"`
		EVTX     string `json:"evtx_path"`
		MinCount *int   `json:"match_count_min"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	args := []string{"scan", "--rules", filepath.Join(base, "rules", "windows"), "--min-level", "informational", "--format", "jsonl"}
	type key struct{ file, rule string }
	want := map[key]int{}
	for _, c := range manifest {
		if strings.HasPrefix(c.RulePath, "rules/windows/") {
			p := filepath.Join(base, filepath.FromSlash(c.EVTX))
			args = append(args, p)
			want[key{p, c.RuleID}] = max(1, ptrOr(c.MinCount, 1))
		}
	}
	if len(want) < 100 {
		t.Fatalf("only %d regression samples for rules/windows", len(want))
	}
	out, errOut, err := runIn(t, t.TempDir(), "", map[string]string{"KOBAN_DETECTION_OWN_RULES": "false"}, args...)
	if err != nil {
		t.Fatalf("koban scan: %v\nstderr:\n%s", err, errOut)
	}
	got := map[key]int{}
	recs := scanRecords(t, out)
	for _, r := range recs {
		got[key{r.File, r.RuleID}]++
	}
	for k, n := range want {
		if got[k] < n {
			t.Errorf("%s: rule %s detected %d time(s), want at least %d", k.file, k.rule, got[k], n)
		}
	}
	if n := detectionsIn(t, errOut); n != len(recs) {
		t.Errorf("summary counts %d detections, the timeline has %d", n, len(recs))
	}
	if !strings.Contains(errOut, "Scanned "+strconv.Itoa(len(want))+" file(s)") {
		t.Errorf("summary does not count %d files:\n%s", len(want), errOut)
	}
	t.Logf("%d samples, %d detections; summary:\n%s", len(want), len(recs), errOut)
}

func ptrOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

// timelineRow is what the three formats must agree on.
type timelineRow struct{ Time, Host, RuleID, Level string }

// TestScanFormats scans real attack samples in each format: the three
// timelines hold the same detections in event-time order, and the summary
// counts them.
func TestScanFormats(t *testing.T) {
	t.Parallel()
	samples := shareddata.Path(t, "evtx-attack-samples/Credential Access")
	rules := shareddata.Path(t, "sigma/rules/windows")
	dir := t.TempDir()
	scan := func(format string) (string, string) {
		t.Helper()
		out, errOut, err := runIn(t, dir, "", map[string]string{"KOBAN_DETECTION_OWN_RULES": "false"}, "scan", "--rules", rules, "--format", format, samples)
		if err != nil {
			t.Fatalf("scan --format %s: %v\n%s", format, err, errOut)
		}
		return out, errOut
	}

	out, errOut := scan("jsonl")
	var fromJSON []timelineRow
	for _, r := range scanRecords(t, out) {
		fromJSON = append(fromJSON, timelineRow{r.Time, r.Host, r.RuleID, r.Level})
		if _, err := time.Parse(time.RFC3339, r.Time); err != nil || r.RuleTitle == "" || r.File == "" {
			t.Errorf("jsonl record %+v: bad time, no title or no file", r)
		}
	}
	if len(fromJSON) < 20 {
		t.Fatalf("only %d detections in the Credential Access samples", len(fromJSON))
	}
	if n := detectionsIn(t, errOut); n != len(fromJSON) {
		t.Errorf("jsonl: summary says %d detections, timeline has %d", n, len(fromJSON))
	}
	if !slices.IsSortedFunc(fromJSON, func(a, b timelineRow) int { return strings.Compare(a.Time, b.Time) }) {
		t.Errorf("timeline not in time order")
	}

	out, errOut = scan("csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if want := []string{"time", "host", "rule_id", "rule_title", "level", "attack", "key_fields", "file", "correlation_count"}; !slices.Equal(rows[0], want) {
		t.Errorf("csv header %q, want %q", rows[0], want)
	}
	var fromCSV []timelineRow
	for _, r := range rows[1:] {
		fromCSV = append(fromCSV, timelineRow{r[0], r[1], r[2], r[4]})
	}
	if !slices.Equal(fromCSV, fromJSON) {
		t.Errorf("csv timeline (%d rows) differs from jsonl (%d)", len(fromCSV), len(fromJSON))
	}
	if detectionsIn(t, errOut) != len(fromCSV) {
		t.Errorf("csv: summary count differs")
	}

	out, _ = scan("table")
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "TIME (UTC)") {
		t.Fatalf("table header %q", lines[0])
	}
	var fromTable []timelineRow
	cell := regexp.MustCompile(`^(\S+)\s+(\S+)\s+(\S+)\s+`)
	for _, l := range lines[1:] {
		if l == "" {
			break
		}
		m := cell.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("table line %q", l)
		}
		row := timelineRow{Time: m[1], Host: m[2], RuleID: m[3]}
		for _, lv := range levelNames {
			if strings.Contains(l, "  "+lv+"  ") {
				row.Level = lv
				break
			}
		}
		fromTable = append(fromTable, row)
	}
	if !slices.Equal(fromTable, fromJSON) {
		t.Errorf("table timeline (%d rows) differs from jsonl (%d)", len(fromTable), len(fromJSON))
	}
	if detectionsIn(t, out) != len(fromTable) {
		t.Errorf("table: summary count differs")
	}
	for _, want := range []string{"Top rules:", "Scanned 38 file(s)", "MB/s", "events/s end to end"} {
		if !strings.Contains(out, want) {
			t.Errorf("table summary lacks %q:\n%s", want, out)
		}
	}
}

// TestScanJSONLinesAndCorrelation scans gzip-compressed JSON lines found
// in a directory: a correlation's firing is in the timeline, the rule that
// only feeds it is not, and files of other kinds in the directory are left
// alone.
func TestScanJSONLinesAndCorrelation(t *testing.T) {
	t.Parallel()
	in := t.TempDir()
	rules := filepath.Join(t.TempDir(), "rules.yml")
	write(t, filepath.Dir(rules), map[string]string{"rules.yml": failedLogons + "---\n" + sigmaRule(ruleWhoami, "Whoami", "medium", "whoami.exe", "attack.discovery", "attack.t1033")})
	lines := []string{
		logon(4625, "alice", "2026-01-05T09:00:00Z"), logon(4625, "alice", "2026-01-05T09:01:00Z"),
		`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"pc7.example.jp","Image":"C:\\Temp\u001b[31m\\whoami.exe","CommandLine":"whoami /all","@timestamp":"2026-01-05T08:00:00Z"}`,
		logon(4625, "alice", "2026-01-05T09:02:00Z"),
	}
	f, err := os.Create(filepath.Join(in, "events.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	write(t, in, map[string]string{"notes.txt": "not scanned", "export.json": logon(4625, "alice", "2026-01-05T09:03:00Z")})
	dir := t.TempDir()
	out, errOut, err := run(t, dir, "scan", "--rules", rules, "--format", "jsonl", in)
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, errOut)
	}
	recs := scanRecords(t, out)
	if len(recs) != 2 {
		t.Fatalf("%d detections, want the whoami run and one brute force:\n%s", len(recs), out)
	}
	w, c := recs[0], recs[1]
	if w.RuleID != ruleWhoami || w.Time != "2026-01-05T08:00:00Z" || w.Host != "pc7.example.jp" || w.Fields["Image"] != "C:\\Temp\x1b[31m\\whoami.exe" ||
		!slices.Equal(w.Attack, []string{"discovery", "T1033"}) || w.Correlation {
		t.Errorf("whoami detection: %+v", w)
	}
	if c.RuleID != "b0000000-0000-4000-8000-000000000002" || !c.Correlation || c.Count != 3 || c.Time != "2026-01-05T09:02:00Z" ||
		c.Fields["TargetUserName"] != "alice" || c.Host != "dc1.example.jp" || c.Level != "high" {
		t.Errorf("correlation detection: %+v", c)
	}
	if !strings.Contains(errOut, "Scanned 1 file(s)") || !strings.Contains(errOut, "4 event(s)") {
		t.Errorf("summary: want 1 file (events.jsonl.gz) and 4 events:\n%s", errOut)
	}
	// The table shows no terminal escape from the event (jsonl escapes it).
	out, _, err = run(t, dir, "scan", "--rules", rules, in)
	if err != nil || strings.Contains(out, "\x1b") || !strings.Contains(out, "Image: C:\\Temp\uFFFD[31m\\whoami.exe") {
		t.Errorf("table: %v, escape present or command line missing:\n%q", err, out)
	}
}

func TestScanErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rules := t.TempDir()
	write(t, rules, map[string]string{"w.yml": sigmaRule(ruleWhoami, "Whoami", "medium", "whoami.exe")})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "name at least one file or directory"},
		{[]string{"scan", "--format", "xml", "x"}, `--format "xml"`},
		{[]string{"scan", "--min-level", "loud", "x"}, `--min-level "loud"`},
	} {
		_, errOut, err := run(t, dir, c.args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(errOut, c.want) {
			t.Errorf("koban %v: %v, stderr %q; want a usage error saying %q", c.args, err, errOut, c.want)
		}
	}
	good := filepath.Join(t.TempDir(), "a.jsonl")
	write(t, filepath.Dir(good), map[string]string{"a.jsonl": `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x\\whoami.exe"}` + "\n"})
	missing := filepath.Join(dir, "missing.evtx")
	out, _, err := run(t, dir, "scan", "--rules", rules, good, missing)
	if err == nil || ExitCode(err, &strings.Builder{}) != 1 || !strings.Contains(out, "Not scanned (1):") || detectionsIn(t, out) != 1 {
		t.Errorf("scan with a missing file: %v, want exit 1 after a full report\n%s", err, out)
	}
	_, _, err = run(t, dir, "scan", "--rules", filepath.Join(dir, "no-rules-here"), good)
	if err == nil || !strings.Contains(err.Error(), "no rules loaded") {
		t.Errorf("scan without rules: %v", err)
	}
}
