// SPDX-License-Identifier: Apache-2.0

package incident_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// offered returns the ids and English titles of the playbooks offered.
func offered(t *testing.T, e incEnv) map[string]string {
	t.Helper()
	pbs, err := e.svc.Playbooks(context.Background())
	if err != nil {
		t.Fatalf("Playbooks: %v", err)
	}
	out := map[string]string{}
	for _, pb := range pbs {
		if _, dup := out[pb.ID]; dup {
			t.Errorf("Playbooks offers %q twice", pb.ID)
		}
		out[pb.ID] = pb.Title["en"]
	}
	return out
}

// playbookAudits returns the audit actions recorded about playbook id,
// oldest first.
func playbookAudits(t *testing.T, e incEnv, id string) []string {
	t.Helper()
	es, err := e.db.AuditEntries(context.Background(), audit.Filter{Object: "playbook:" + id})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, es[i].Action)
	}
	return out
}

func TestCustomPlaybookCopyEditDelete(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	builtIn, err := incident.Library()
	if err != nil {
		t.Fatal(err)
	}
	if got := offered(t, e); len(got) != len(builtIn) {
		t.Fatalf("Playbooks on a fresh store: %d, want the %d built-in ones", len(got), len(builtIn))
	}

	id, err := e.svc.SuggestCopyID(ctx, e.a, "ransomware")
	if err != nil || id != "ransomware-custom" {
		t.Fatalf("SuggestCopyID(ransomware) = %q, %v; want ransomware-custom", id, err)
	}
	c, err := e.svc.CopyPlaybook(ctx, e.a, "ransomware", id)
	if err != nil {
		t.Fatalf("CopyPlaybook: %v", err)
	}
	orig, _ := incident.PlaybookSource("ransomware")
	if want := strings.Replace(string(orig), "\nid: ransomware\n", "\nid: ransomware-custom\n", 1); c.Source != want {
		t.Errorf("the copy's text is not the original's with only its id changed:\n%s", c.Source)
	}
	if c.Version != 1 || c.CopiedFrom != "ransomware" || c.CreatedBy != "resp1" {
		t.Errorf("CopyPlaybook = version %d, copied from %q, by %q", c.Version, c.CopiedFrom, c.CreatedBy)
	}
	if id, _ := e.svc.SuggestCopyID(ctx, e.a, "ransomware"); id != "ransomware-custom-2" {
		t.Errorf("SuggestCopyID once ransomware-custom exists = %q, want ransomware-custom-2", id)
	}
	if _, err := e.svc.CopyPlaybook(ctx, e.a, "ransomware", "ransomware-custom"); !fault.Is(err, fault.Conflict) {
		t.Errorf("CopyPlaybook to a taken id: got %v, want Conflict", err)
	}
	wantFault(t, "CopyPlaybook(unknown)", func() error { _, err := e.svc.CopyPlaybook(ctx, e.a, "nope", "x"); return err }(),
		fault.NotFound, "playbookui.not_found")
	wantFault(t, "CopyPlaybook(bad id)", func() error { _, err := e.svc.CopyPlaybook(ctx, e.a, "dos", "Bad ID"); return err }(),
		fault.Invalid, "playbookui.bad_id")

	edited := strings.Replace(c.Source, "Ransomware (files encrypted, ransom demanded)", "Ransomware <ours>", 1)
	saved, err := e.svc.SavePlaybook(ctx, e.a, id, edited, c.Version)
	if err != nil {
		t.Fatalf("SavePlaybook: %v", err)
	}
	if saved.Version != 2 || saved.Source != edited {
		t.Errorf("SavePlaybook = version %d, source changed %v", saved.Version, saved.Source != edited)
	}
	if got := offered(t, e); got[id] != "Ransomware <ours>" || got["ransomware"] == "Ransomware <ours>" {
		t.Errorf("after the edit Playbooks gives %q for the copy and %q for the original", got[id], got["ransomware"])
	}
	wantFault(t, "SavePlaybook with a stale version", func() error { _, err := e.svc.SavePlaybook(ctx, e.a, id, edited+"\n", 1); return err }(),
		fault.Conflict, "playbookui.changed")

	// Broken text: problems with lines, nothing saved.
	broken := strings.Replace(edited, "role: it_admin", "role: plumber", 1)
	_, err = e.svc.SavePlaybook(ctx, e.a, id, broken, 2)
	var probs incident.PlaybookProblems
	if !errors.As(err, &probs) || !fault.Is(err, fault.Invalid) || len(probs) == 0 || probs[0].Line == 0 {
		t.Fatalf("SavePlaybook(unknown role): got %v, want Invalid PlaybookProblems with lines", err)
	}
	if wantLine := 1 + strings.Count(broken[:strings.Index(broken, "role: plumber")], "\n"); probs[0].Line != wantLine || probs[0].Msg != "playbook.unknown_role" {
		t.Errorf("problem %+v, want playbook.unknown_role on line %d", probs[0], wantLine)
	}
	renamed := strings.Replace(edited, "id: ransomware-custom", "id: other", 1)
	_, err = e.svc.SavePlaybook(ctx, e.a, id, renamed, 2)
	if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Msg != "playbookui.id_changed" || probs[0].Line != 5 || probs[0].Col != 5 {
		t.Errorf("SavePlaybook(another id): got %v, want playbookui.id_changed at 5:5", err)
	}
	if cur, _ := e.db.CustomPlaybook(ctx, id); cur.Version != 2 || cur.Source != edited {
		t.Errorf("refused saves changed the stored playbook: version %d", cur.Version)
	}

	if _, err := e.svc.SetPlaybookDisabled(ctx, e.a, id, true, 2); err != nil {
		t.Fatalf("SetPlaybookDisabled(true): %v", err)
	}
	if _, ok := offered(t, e)[id]; ok {
		t.Error("a disabled playbook is offered")
	}
	if en, err := e.svc.Playbook(ctx, e.a, id); err != nil || !en.Disabled || en.Playbook == nil {
		t.Errorf("Playbook(disabled) = %+v, %v; want it readable and marked disabled", en, err)
	}
	if _, err := e.svc.SetPlaybookDisabled(ctx, e.a, id, false, 3); err != nil {
		t.Fatalf("SetPlaybookDisabled(false): %v", err)
	}
	if _, ok := offered(t, e)[id]; !ok {
		t.Error("an enabled playbook is not offered")
	}
	wantFault(t, "DeletePlaybook with a stale version", e.svc.DeletePlaybook(ctx, e.a, id, 3), fault.Conflict, "playbookui.changed")
	if err := e.svc.DeletePlaybook(ctx, e.a, id, 4); err != nil {
		t.Fatalf("DeletePlaybook: %v", err)
	}
	wantFault(t, "DeletePlaybook twice", e.svc.DeletePlaybook(ctx, e.a, id, 4), fault.NotFound, "playbookui.not_custom")
	wantFault(t, "DeletePlaybook(built-in)", e.svc.DeletePlaybook(ctx, e.a, "ransomware", 0), fault.NotFound, "playbookui.not_custom")
	if got := offered(t, e); len(got) != len(builtIn) {
		t.Errorf("after the delete Playbooks offers %d, want %d", len(got), len(builtIn))
	}
	want := []string{"playbook.copy", "playbook.update", "playbook.disable", "playbook.enable", "playbook.delete"}
	if got := playbookAudits(t, e, id); !slices.Equal(got, want) {
		t.Errorf("audit trail %v, want %v", got, want)
	}
}

func TestCustomPlaybookReplacesBuiltIn(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	c, err := e.svc.CopyPlaybook(ctx, e.a, "phishing-bec", "phishing-bec")
	if err != nil {
		t.Fatalf("CopyPlaybook to the built-in's own id: %v", err)
	}
	text := strings.Replace(c.Source, "  en: ", "  en: Ours - ", 1)
	if _, err := e.svc.SavePlaybook(ctx, e.a, "phishing-bec", text, 1); err != nil {
		t.Fatalf("SavePlaybook: %v", err)
	}
	if got := offered(t, e)["phishing-bec"]; !strings.HasPrefix(got, "Ours - ") {
		t.Errorf("Playbooks gives %q for phishing-bec, want the custom one", got)
	}
	en, err := e.svc.Playbook(ctx, e.a, "phishing-bec")
	if err != nil || en.Origin != incident.OriginCustom || !en.Replaces {
		t.Errorf("Playbook(phishing-bec) = origin %s, replaces %v, %v; want the custom one", en.Origin, en.Replaces, err)
	}
	lib, err := e.svc.PlaybookLibrary(ctx, e.a)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, en := range lib {
		if en.ID == "phishing-bec" {
			rows = append(rows, string(en.Origin)+" replaced="+boolWord(en.Replaced)+" offered="+boolWord(en.Offered()))
		}
	}
	if want := []string{"builtin replaced=yes offered=no", "custom replaced=no offered=yes"}; !slices.Equal(rows, want) {
		t.Errorf("PlaybookLibrary rows of phishing-bec %v, want %v", rows, want)
	}
	// Disabled, the built-in comes back.
	if _, err := e.svc.SetPlaybookDisabled(ctx, e.a, "phishing-bec", true, 2); err != nil {
		t.Fatal(err)
	}
	if got := offered(t, e)["phishing-bec"]; strings.HasPrefix(got, "Ours - ") || got == "" {
		t.Errorf("with the custom one disabled Playbooks gives %q, want the built-in", got)
	}
	if en, _ := e.svc.Playbook(ctx, e.a, "phishing-bec"); en.Origin != incident.OriginBuiltIn {
		t.Errorf("Playbook(phishing-bec) with the custom one disabled: origin %s, want builtin", en.Origin)
	}
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func TestCustomPlaybookNeedsFullAccess(t *testing.T) {
	t.Parallel()
	e := newIncEnv(t)
	ctx := context.Background()
	viewer := e.user(t, "viewer1", auth.RoleViewer)
	calls := map[string]error{
		"PlaybookLibrary": func() error { _, err := e.svc.PlaybookLibrary(ctx, viewer); return err }(),
		"Playbook":        func() error { _, err := e.svc.Playbook(ctx, viewer, "dos"); return err }(),
		"CopyPlaybook":    func() error { _, err := e.svc.CopyPlaybook(ctx, viewer, "dos", "dos-custom"); return err }(),
		"SavePlaybook":    func() error { _, err := e.svc.SavePlaybook(ctx, viewer, "dos", "id: dos", 1); return err }(),
		"DeletePlaybook":  e.svc.DeletePlaybook(ctx, viewer, "dos", 1),
	}
	for name, err := range calls {
		if !fault.Is(err, fault.Forbidden) {
			t.Errorf("%s as a viewer: got %v, want Forbidden", name, err)
		}
	}
}
