// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/i18n"
)

// step is one event and the finding it should make, as summary writes it
// ("" for none).
type step struct {
	ev   *event.Event
	want string
}

// summary writes a finding as "key → value #count (user)".
func summary(f Finding) string {
	return fmt.Sprintf("%s → %s #%d (%s)", strings.Join(f.Key, ","), strings.Join(f.Value, ","), f.Count, f.User)
}

// runSteps feeds steps to a fresh engine with defs and checks each step's
// findings.
func runSteps(t *testing.T, defs []Definition, steps []step) *Engine {
	t.Helper()
	e := mustNew(t, defs, Options{})
	for i, s := range steps {
		var got []Finding
		e.Observe(s.ev, collect(&got))
		var sums []string
		for _, f := range got {
			sums = append(sums, summary(f))
		}
		if g := strings.Join(sums, "; "); g != s.want {
			t.Errorf("step %d: Observe(%s %v) findings = %q, want %q", i+1, s.ev.Host, s.ev.Log, g, s.want)
		}
	}
	return e
}

func noLearning(d *Definition) { d.Learn = 0 }

func TestNewProcess(t *testing.T) {
	t.Parallel()
	const a, b = "WKS01.corp.example", "SRV02.corp.example"
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	sec4688 := func(host string, m int, image, parent string) *event.Event {
		return newEvent("windows", host, at(m), "EventID", "4688", "Channel", chanSecurity, "Computer", host,
			"Provider_Name", "Microsoft-Windows-Security-Auditing", "SubjectUserName", "alice", "SubjectDomainName", "CORP",
			"NewProcessName", image, "ParentProcessName", parent, "CommandLine", image)
	}
	steps := []step{
		{sysmon1(a, at(0), `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, `CORP\alice`),
			`WKS01.corp.example → C:\Windows\System32\cmd.exe #1 (CORP\alice)`},
		{sysmon1(a, at(1), `C:\WINDOWS\system32\CMD.EXE`, `C:\Windows\explorer.exe`, `CORP\alice`), ""},
		{sysmon1(a, at(2), `C:\Users\alice\AppData\Local\Temp\svch0st.exe`, `C:\Windows\System32\cmd.exe`, `CORP\alice`),
			`WKS01.corp.example → C:\Users\alice\AppData\Local\Temp\svch0st.exe #1 (CORP\alice)`},
		{sysmon1(b, at(3), `C:\Windows\System32\cmd.exe`, `C:\Windows\System32\services.exe`, `NT AUTHORITY\SYSTEM`),
			`SRV02.corp.example → C:\Windows\System32\cmd.exe #1 (NT AUTHORITY\SYSTEM)`},
		// Security 4688 (NewProcessName renamed to Image) shares the state.
		{sec4688(a, 4, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`), ""},
		{sec4688(a, 5, `C:\Windows\System32\whoami.exe`, `C:\Windows\System32\cmd.exe`),
			`WKS01.corp.example → C:\Windows\System32\whoami.exe #1 (alice)`},
		// A network connection is not a process creation.
		{newEvent("windows", a, at(6), "EventID", "3", "Channel", chanSysmon, "Computer", a,
			"Image", `C:\Windows\System32\rundll32.exe`, "DestinationIp", "203.0.113.5"), ""},
		// No Image: not observed.
		{newEvent("windows", a, at(7), "EventID", "1", "Channel", chanSysmon, "Computer", a, "CommandLine", "x"), ""},
	}
	e := runSteps(t, only(t, "new_process", noLearning), steps)
	st := e.Stats()
	if d := st.Definitions[0]; d.Observed != 6 || d.Findings != 4 || d.Values != 4 {
		t.Errorf("Stats() = %+v, want 6 observed, 4 findings, 4 values", d)
	}
	if st.Events != uint64(len(steps)) {
		t.Errorf("Stats().Events = %d, want %d", st.Events, len(steps))
	}
}

func TestRareParentChild(t *testing.T) {
	t.Parallel()
	const a, b = "WKS01.corp.example", "WKS02.corp.example"
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	const explorer, cmd = `C:\Windows\explorer.exe`, `C:\Windows\System32\cmd.exe`
	const word, ps = `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
		`C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`
	pair := explorer + "," + cmd
	steps := []step{
		{sysmon1(a, at(0), cmd, explorer, `CORP\alice`), " → " + pair + ` #1 (CORP\alice)`},
		{sysmon1(b, at(1), cmd, explorer, `CORP\bob`), " → " + pair + ` #2 (CORP\bob)`},
		{sysmon1(a, at(2), strings.ToUpper(cmd), strings.ToLower(explorer), `CORP\alice`),
			" → " + strings.ToLower(explorer) + "," + strings.ToUpper(cmd) + ` #3 (CORP\alice)`},
		{sysmon1(a, at(3), cmd, explorer, `CORP\alice`), ""},
		{sysmon1(a, at(4), ps, word, `CORP\alice`), " → " + word + "," + ps + ` #1 (CORP\alice)`},
		// 30 days after hour 2: only the sighting at hour 3 is in the window.
		{sysmon1(b, at(30*24+2).Add(30*time.Minute), cmd, explorer, `CORP\bob`), " → " + pair + ` #2 (CORP\bob)`},
		// A 4688 of an old Windows has no ParentProcessName.
		{newEvent("windows", a, at(800), "EventID", "4688", "Channel", chanSecurity, "Computer", a,
			"NewProcessName", cmd), ""},
	}
	runSteps(t, only(t, "rare_parent_child", noLearning), steps)
}

func TestNewLogonSource(t *testing.T) {
	t.Parallel()
	const dc, web = "DC01.corp.example", "web01"
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	steps := []step{
		{logon4624(dc, at(0), "alice", "CORP", "3", "10.0.2.17"), "alice → 10.0.2.17 #1 (alice)"},
		{logon4624(dc, at(1), "ALICE", "CORP", "10", "10.0.2.17"), ""},
		// The same person through sshd with a domain-qualified name.
		{sshd(web, at(2), "Accepted publickey for alice@corp.example from 10.0.2.17 port 50022 ssh2: ED25519 SHA256:3q2+7w"), ""},
		{sshd(web, at(3), "Accepted password for alice from 203.0.113.7 port 41000 ssh2"), "alice → 203.0.113.7 #1 (alice)"},
		{logon4624(dc, at(4), "bob", "CORP", "2", "127.0.0.1"), ""},   // interactive
		{logon4624(dc, at(5), "PC01$", "CORP", "3", "10.0.2.17"), ""}, // machine account
		{logon4624(dc, at(6), "bob", "CORP", "3", "::1"), ""},         // loopback
		{logon4624(dc, at(7), "bob", "CORP", "3", "-"), ""},           // no address
		{logon4624(dc, at(8), "bob", "CORP", "3", "fe80::79bf:8ee2:433c:2567"), "bob → fe80::79bf:8ee2:433c:2567 #1 (bob)"},
		{sshd(web, at(9), "Failed password for alice from 198.51.100.9 port 22 ssh2"), ""},
	}
	runSteps(t, only(t, "new_logon_source", noLearning), steps)
}

func TestNewService(t *testing.T) {
	t.Parallel()
	const a, b = "SRV01.corp.example", "SRV02.corp.example"
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	const smbexec = `%COMSPEC% /Q /c echo cd  ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat`
	steps := []step{
		{service7045(a, at(0), "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`), "SRV01.corp.example → PSEXESVC #1 ()"},
		{service4697(a, at(0), "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`), ""},
		{service7045(b, at(1), "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`), "SRV02.corp.example → PSEXESVC #1 ()"},
		{service4697(a, at(2), "BTOBTO", smbexec), "SRV01.corp.example → BTOBTO #1 (admin)"},
		{service7045(a, at(3), "psexesvc", `C:\Windows\PSEXESVC.exe`), ""},
	}
	runSteps(t, only(t, "new_service", noLearning), steps)
}

func TestFailedLogons(t *testing.T) {
	t.Parallel()
	const dc, web = "DC01.corp.example", "LabSZ"
	var steps []step
	add := func(ev *event.Event, want string) { steps = append(steps, step{ev, want}) }
	// A failure every 30 s for half an hour: the tenth makes a finding,
	// then the definition stays quiet for a window, so a sustained attack
	// makes one finding per ten minutes.
	for i := range 60 {
		want := ""
		if i == 9 || i == 29 || i == 49 {
			want = "Administrator,192.168.198.149 →  #10 (Administrator)"
		}
		add(logon4625(dc, t0.Add(time.Duration(i)*30*time.Second), "Administrator", "192.168.198.149"), want)
	}
	// Ten failures spread over 18 minutes never fit in one window.
	for i := range 10 {
		add(logon4625(dc, t0.Add(time.Duration(i)*2*time.Minute), "svc_backup", "10.0.2.17"), "")
	}
	// Without an address, the workstation name is the source.
	for i := range 10 {
		want := ""
		if i == 9 {
			want = "bob,kali →  #10 (bob)"
		}
		add(logon4625(dc, t0.Add(time.Duration(i)*time.Second), "bob", "-"), want)
	}
	// sshd: only "Failed …" lines count; "Invalid user" repeats an attempt.
	for i := range 10 {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		add(sshd(web, at, "Invalid user admin from 183.62.140.253"), "")
		want := ""
		if i == 9 {
			want = "admin,183.62.140.253 →  #10 (admin)"
		}
		add(sshd(web, at, "Failed password for invalid user admin from 183.62.140.253 port 37283 ssh2"), want)
	}
	runSteps(t, only(t, "failed_logons", nil), steps)
}

func TestLearning(t *testing.T) {
	t.Parallel()
	defs := only(t, "new_process", func(d *Definition) { d.Learn = time.Hour })
	const a, b = "WKS01", "WKS02"
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	steps := []step{
		{sysmon1(a, at(0), `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, "u"), ""},
		{sysmon1(a, at(30), `C:\Windows\System32\notepad.exe`, `C:\Windows\explorer.exe`, "u"), ""},
		{sysmon1(a, at(120), `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, "u"), ""},
		{sysmon1(a, at(121), `C:\Windows\System32\calc.exe`, `C:\Windows\explorer.exe`, "u"), `WKS01 → C:\Windows\System32\calc.exe #1 (u)`},
		// A host seen for the first time learns on its own.
		{sysmon1(b, at(180), `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, "u"), ""},
		{sysmon1(b, at(200), `C:\Temp\evil.exe`, `C:\Windows\explorer.exe`, "u"), ""},
		{sysmon1(b, at(241), `C:\Temp\evil2.exe`, `C:\Windows\explorer.exe`, "u"), `WKS02 → C:\Temp\evil2.exe #1 (u)`},
		// An event from before the host's first one is still learning.
		{sysmon1(b, at(100), `C:\Temp\old.exe`, `C:\Windows\explorer.exe`, "u"), ""},
	}
	e := runSteps(t, defs, steps)
	if d := e.Stats().Definitions[0]; d.Held != 5 || d.Findings != 2 || d.Subjects != 2 || d.Values != 7 {
		t.Errorf("Stats() = %+v, want 5 held, 2 findings, 2 subjects, 7 values", d)
	}
}

func TestOutOfOrder(t *testing.T) {
	t.Parallel()
	t.Run("threshold", func(t *testing.T) {
		t.Parallel()
		e := mustNew(t, only(t, "failed_logons", nil), Options{})
		var got []Finding
		// Ten failures within five minutes, in a scrambled order.
		for _, k := range []int{3, 0, 7, 1, 9, 4, 2, 8, 6, 5} {
			e.Observe(logon4625("DC01", t0.Add(time.Duration(k)*30*time.Second), "Administrator", "192.0.2.1"), collect(&got))
		}
		if len(got) != 1 || got[0].Count != 10 {
			t.Fatalf("findings = %v, want one with count 10", got)
		}
		// One more, older than all but within the window: still quiet.
		e.Observe(logon4625("DC01", t0.Add(-time.Minute), "Administrator", "192.0.2.1"), collect(&got))
		if len(got) != 1 {
			t.Errorf("late event made a finding: %v", got[1:])
		}
	})
	t.Run("first_seen", func(t *testing.T) {
		t.Parallel()
		e := mustNew(t, only(t, "new_process", noLearning), Options{})
		var got []Finding
		e.Observe(sysmon1("H", t0.Add(time.Hour), `C:\a.exe`, `C:\p.exe`, "u"), collect(&got))
		e.Observe(sysmon1("H", t0, `C:\a.exe`, `C:\p.exe`, "u"), collect(&got))
		if len(got) != 1 {
			t.Errorf("findings = %d, want 1: an older sighting of a known value is not new", len(got))
		}
	})
	t.Run("rare", func(t *testing.T) {
		t.Parallel()
		e := mustNew(t, only(t, "rare_parent_child", noLearning), Options{})
		var got []Finding
		for _, h := range []int{10, 5, 1, 7} {
			e.Observe(sysmon1("H", t0.Add(time.Duration(h)*time.Hour), `C:\a.exe`, `C:\p.exe`, "u"), collect(&got))
		}
		var counts []int
		for _, f := range got {
			counts = append(counts, f.Count)
		}
		if fmt.Sprint(counts) != "[1 2 3]" {
			t.Errorf("counts = %v, want [1 2 3]: late sightings count, the fourth is not rare", counts)
		}
	})
}

func TestEviction(t *testing.T) {
	t.Parallel()
	e := mustNew(t, only(t, "new_process", noLearning), Options{MaxKeys: 10})
	image := func(i int) string { return fmt.Sprintf(`C:\Tools\tool%02d.exe`, i) }
	var got []Finding
	for i := range 25 {
		e.Observe(sysmon1("H", t0.Add(time.Duration(i)*time.Second), image(i), `C:\Windows\explorer.exe`, "u"), collect(&got))
	}
	if len(got) != 25 {
		t.Fatalf("findings = %d, want 25", len(got))
	}
	if d := e.Stats().Definitions[0]; d.Values != 10 || d.Evictions != 15 {
		t.Errorf("Stats() = %+v, want 10 values and 15 evictions", d)
	}
	got = nil
	e.Observe(sysmon1("H", t0.Add(time.Minute), image(24), `C:\Windows\explorer.exe`, "u"), collect(&got))
	e.Observe(sysmon1("H", t0.Add(time.Minute), image(15), `C:\Windows\explorer.exe`, "u"), collect(&got))
	if len(got) != 0 {
		t.Errorf("recent values reported again: %v", got)
	}
	// tool00 was evicted: it is new again. Re-seeing tool15 above made it
	// recent, so tool16 is now the least recent and goes next.
	e.Observe(sysmon1("H", t0.Add(time.Minute), image(0), `C:\Windows\explorer.exe`, "u"), collect(&got))
	e.Observe(sysmon1("H", t0.Add(time.Minute), image(15), `C:\Windows\explorer.exe`, "u"), collect(&got))
	e.Observe(sysmon1("H", t0.Add(time.Minute), image(16), `C:\Windows\explorer.exe`, "u"), collect(&got))
	if len(got) != 2 || got[0].Value[0] != image(0) || got[1].Value[0] != image(16) {
		t.Errorf("after eviction findings = %v, want tool00 then tool16", got)
	}

	t.Run("subjects", func(t *testing.T) {
		e := mustNew(t, only(t, "new_process", nil), Options{MaxKeys: 2})
		for i := range 5 {
			e.Observe(sysmon1(fmt.Sprintf("H%d", i), t0, `C:\x.exe`, `C:\p.exe`, "u"), nil)
		}
		if d := e.Stats().Definitions[0]; d.Subjects != 2 || d.Values != 2 || d.Evictions != 6 {
			t.Errorf("Stats() = %+v, want 2 subjects, 2 values, 6 evictions", d)
		}
	})
}

func TestFirstSeenWindow(t *testing.T) {
	t.Parallel()
	defs := only(t, "new_service", func(d *Definition) { d.Learn, d.Window = 0, 90*day })
	steps := []step{
		{service7045("H", t0, "UpdaterSvc", `C:\u.exe`), "H → UpdaterSvc #1 ()"},
		{service7045("H", t0.Add(89*day), "UpdaterSvc", `C:\u.exe`), ""},
		{service7045("H", t0.Add(180*day), "UpdaterSvc", `C:\u.exe`), "H → UpdaterSvc #1 ()"},
	}
	runSteps(t, defs, steps)
}

func TestUserNames(t *testing.T) {
	t.Parallel()
	defs := []Definition{{
		Name: "user_host", Kind: FirstSeen, Level: LevelLow, TitleID: "x",
		Match: []Match{{Category: "process_creation"}}, Key: []string{"User"}, Value: []string{Host},
	}}
	steps := []step{
		{sysmon1("WKS01", t0, `C:\a.exe`, `C:\p.exe`, `CORP\Alice`), `CORP\Alice → WKS01 #1 (CORP\Alice)`},
		{sysmon1("wks01", t0, `C:\a.exe`, `C:\p.exe`, `alice@corp.example`), ""},
		{sysmon1("WKS01", t0, `C:\a.exe`, `C:\p.exe`, `ALICE`), ""},
		{sysmon1("WKS01", t0, `C:\a.exe`, `C:\p.exe`, `CORP\alice2`), `CORP\alice2 → WKS01 #1 (CORP\alice2)`},
		// Non-ASCII names fold too.
		{sysmon1("WKS01", t0, `C:\a.exe`, `C:\p.exe`, `CORP\ÉLODIE`), `CORP\ÉLODIE → WKS01 #1 (CORP\ÉLODIE)`},
		{sysmon1("WKS01", t0, `C:\a.exe`, `C:\p.exe`, `élodie`), ""},
		{sysmon1("WKS01", t0, `C:\a.exe`, `C:\p.exe`, `CORP\田中`), `CORP\田中 → WKS01 #1 (CORP\田中)`},
	}
	runSteps(t, defs, steps)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := func() Definition {
		return Definition{Name: "x", Kind: Threshold, Level: LevelLow, TitleID: "x.title", Window: time.Minute,
			Threshold: 5, Match: []Match{{Service: "sshd"}}, Key: []string{"User"}}
	}
	tests := []struct {
		name string
		edit func(*Definition)
		want string
	}{
		{"ok", func(*Definition) {}, ""},
		{"bad name", func(d *Definition) { d.Name = "New Process" }, "name must be"},
		{"bad kind", func(d *Definition) { d.Kind = "count" }, `kind "count"`},
		{"bad level", func(d *Definition) { d.Level = "severe" }, `level "severe"`},
		{"no match", func(d *Definition) { d.Match = nil }, "no match"},
		{"empty match", func(d *Definition) { d.Match = []Match{{}} }, "match 1 has no logsource"},
		{"cond without values", func(d *Definition) { d.Match[0].Fields = []Cond{{Field: "EventID"}} }, "has no values"},
		{"cond alternatives", func(d *Definition) { d.Match[0].Except = []Cond{{"A|B", []string{"1"}}} }, "must be one field"},
		{"empty alternative", func(d *Definition) { d.Key = []string{"User|"} }, "names an empty field"},
		{"no value", func(d *Definition) { d.Kind = FirstSeen }, "first_seen needs a value field"},
		{"no window", func(d *Definition) { d.Window = 0 }, "threshold needs a window"},
		{"threshold 0", func(d *Definition) { d.Threshold = 0 }, "threshold 0 is not between"},
		{"threshold too big", func(d *Definition) { d.Threshold = MaxThreshold + 1 }, "is not between"},
		{"negative learn", func(d *Definition) { d.Learn = -time.Hour }, "must not be negative"},
		{"no title", func(d *Definition) { d.TitleID = "" }, "no title"},
		{"title text", func(d *Definition) { d.TitleID, d.Title = "", map[string]string{"en": "Mine"} }, ""},
	}
	for _, tt := range tests {
		d := good()
		tt.edit(&d)
		err := d.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	// New reports every problem, and duplicate names.
	bad := good()
	bad.Level, bad.Window = "", 0
	_, err := New([]Definition{good(), good(), bad}, Options{})
	if err == nil || !strings.Contains(err.Error(), "defined twice") || !strings.Contains(err.Error(), "level") ||
		!strings.Contains(err.Error(), "needs a window") {
		t.Errorf("New(duplicate and bad) = %v, want every problem", err)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	defs := Defaults()
	mustNew(t, defs, Options{})
	for _, d := range defs {
		for _, id := range []string{d.TitleID, d.reasonID()} {
			for _, l := range i18n.Langs {
				if !cat.Has(l, id) {
					t.Errorf("%s: message %s missing in %s", d.Name, id, l)
				}
			}
		}
	}
	for _, k := range []Kind{FirstSeen, Rare, Threshold} {
		if !cat.Has(i18n.English, "baseline.reason."+string(k)) {
			t.Errorf("generic reason for %s missing", k)
		}
	}
}

// TestFindingText renders every built-in definition's findings in both
// languages: every argument a message names is given.
func TestFindingText(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	defs := Defaults()
	for i := range defs {
		defs[i].Learn = 0
	}
	custom := Definition{Name: "custom", Kind: Rare, Level: LevelLow, Title: map[string]string{"en": "Mine"},
		Window: day, Threshold: 2, Match: []Match{{Category: "process_creation"}}, Value: []string{"Image"}}
	e := mustNew(t, append(defs, custom), Options{})
	var got []Finding
	e.Observe(sysmon1("WKS01", t0, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, `CORP\alice`), collect(&got))
	e.Observe(logon4624("DC01", t0, "alice", "CORP", "3", "10.0.2.17"), collect(&got))
	e.Observe(service7045("SRV01", t0, "PSEXESVC", `%SystemRoot%\PSEXESVC.exe`), collect(&got))
	for i := range 10 {
		e.Observe(logon4625("DC01", t0.Add(time.Duration(i)*time.Second), "Administrator", "192.0.2.1"), collect(&got))
	}
	seen := map[string]bool{}
	for _, f := range got {
		seen[f.Definition] = true
		for _, l := range i18n.Langs {
			s := cat.T(l, f.Reason, f.Args...)
			if strings.ContainsAny(s, "{}[]") {
				t.Errorf("%s in %s: %q has an unfilled argument", f.Definition, l, s)
			}
			if !strings.Contains(s, strings.Join(f.Value, " / ")) && f.Kind != Threshold {
				t.Errorf("%s in %s: %q does not name the value %v", f.Definition, l, s, f.Value)
			}
		}
	}
	for _, d := range append(defs, custom) {
		if !seen[d.Name] {
			t.Errorf("no finding of %s to render", d.Name)
		}
	}
}

// TestNoAllocation checks the hot path: an event no definition observes,
// and one whose value is already known, allocate nothing.
func TestNoAllocation(t *testing.T) {
	e := mustNew(t, Defaults(), Options{})
	net := newEvent("windows", "WKS01", t0, "EventID", "3", "Channel", chanSysmon, "Computer", "WKS01",
		"Image", `C:\Windows\System32\svchost.exe`, "DestinationIp", "203.0.113.5", "DestinationPort", "443")
	known := sysmon1("WKS01", t0, `C:\Windows\System32\cmd.exe`, `C:\Windows\explorer.exe`, `CORP\alice`)
	for range 5 {
		e.Observe(known, nil) // past the rare threshold, learning started
	}
	for name, ev := range map[string]*event.Event{"unobserved": net, "known": known} {
		if n := testing.AllocsPerRun(100, func() { e.Observe(ev, nil) }); n != 0 {
			t.Errorf("Observe(%s event) allocates %.1f times, want 0", name, n)
		}
	}
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		30 * day: "30d", 24 * time.Hour: "1d", 36 * time.Hour: "36h", 10 * time.Minute: "10m", 90 * time.Second: "1m30s", 0: "0s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
