// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"slices"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/i18n"
)

func TestTaxonomy(t *testing.T) {
	t.Parallel()
	// The list, in its words: every one is a type.
	for _, ty := range []Type{"malware", "ransomware", "unauthorised_access", "account_compromise", "phishing", "bec",
		"dos", "data_leak", "lost_device", "web_defacement", "vuln_exploitation", "insider_misuse", "scan_probe", "other"} {
		if !ty.Valid() {
			t.Errorf("Type(%q).Valid() = false", ty)
		}
	}
	seen := map[Type]bool{}
	for _, ti := range Taxonomy {
		if seen[ti.Type] {
			t.Errorf("type %s listed twice", ti.Type)
		}
		seen[ti.Type] = true
		if ti.Parent != "" && (!ti.Parent.Valid() || ti.Parent == ti.Type) {
			t.Errorf("type %s: parent %q is not another type", ti.Type, ti.Parent)
		}
		if p, _ := ti.Parent.Info(); p.Parent != "" {
			t.Errorf("type %s: parent %s has a parent itself; the taxonomy has two levels", ti.Type, ti.Parent)
		}
		if ti.IPAForm != "" && ti.IPAForm != IPAFormVirus && ti.IPAForm != IPAFormUnauthorisedAccess {
			t.Errorf("type %s: unknown IPA form %q", ti.Type, ti.IPAForm)
		}
	}
	if got := Types(); len(got) != len(Taxonomy) || got[0] != Taxonomy[0].Type {
		t.Errorf("Types() = %v, want the taxonomy's order", got)
	}
	for _, c := range []struct {
		t, o Type
		want bool
	}{
		{TypeLostDevice, TypeDataLeak, true}, {TypeRansomware, TypeMalware, true}, {TypeBEC, TypePhishing, true},
		{TypeAccountCompromise, TypeUnauthorisedAccess, true}, {TypeMalware, TypeMalware, true},
		{TypeMalware, TypeRansomware, false}, {TypeDoS, TypeOther, false}, {"bogus", TypeOther, false},
	} {
		if got := c.t.Is(c.o); got != c.want {
			t.Errorf("Type(%s).Is(%s) = %v, want %v", c.t, c.o, got, c.want)
		}
	}
	if Type("Malware").Valid() || Type("").Valid() {
		t.Error("types are case-sensitive stored words; \"Malware\" and \"\" are not types")
	}
}

// TestMessages checks that every message id this package builds at run
// time (labels of its enumerations, severity reasons, timeline entries)
// is in the catalogue in both languages: the catalogue's own test only sees
// literal ids.
func TestMessages(t *testing.T) {
	t.Parallel()
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	add := func(prefix string, vs ...string) {
		for _, v := range vs {
			ids = append(ids, prefix+v)
		}
	}
	add("incident.type.", stringsOf(Types())...)
	add("incident.type_help.", stringsOf(Types())...)
	add("incident.status.", stringsOf(Statuses)...)
	add("incident.phase.", stringsOf(Phases)...)
	add("incident.ipa_step.", stringsOf(IPASteps)...)
	add("incident.resolution.", stringsOf(Resolutions)...)
	add("incident.task_status.", stringsOf(TaskStatuses)...)
	add("incident.link_kind.", stringsOf(LinkKinds)...)
	add("incident.link_kind_reverse.", stringsOf(LinkKinds)...)
	add("incident.timeline.linked_", stringsOf(LinkKinds)...)
	add("incident.timeline.linked_by_", stringsOf(LinkKinds)...)
	add("incident.entry_kind.", stringsOf(EntryKinds)...)
	add("incident.root_cause.", stringsOf(RootCauses)...)
	add("incident.action_status.", stringsOf(ActionStatuses)...)
	add("incident.severity.level.", stringsOf(Severities)...)
	add("incident.severity.functional.", stringsOf(FunctionalImpacts)...)
	add("incident.severity.information.", stringsOf(InformationImpacts)...)
	add("incident.severity.recoverability.", stringsOf(Recoverabilities)...)
	add("incident.severity.criticality.", stringsOf(Criticalities)...)
	add("incident.severity.why.functional_", stringsOf(FunctionalImpacts)...)
	add("incident.severity.why.info_", stringsOf(InformationImpacts)...)
	add("incident.severity.why.recover_", stringsOf(Recoverabilities)...)
	add("incident.severity.question.", "functional", "information", "people", "recoverability", "criticality")
	var a, b Incident
	b.Title, b.Description, b.Type, b.AffectedAssets, b.Techniques = "x", "x", TypeDoS, []string{"x"}, []string{"T1000"}
	b.Fields, b.Tags, b.Flags.PersonalData, b.AwareAt, b.DetectedAt = []Field{{"x", "y"}}, []string{"x"}, true, time.Unix(1, 0), time.Unix(2, 0)
	changes := changedFields(a, b)
	if len(changes) != 10 {
		t.Errorf("changedFields: %d changes, want all 10 written fields", len(changes))
	}
	for _, ch := range changes {
		ids = append(ids, "incident.timeline.changed_"+ch.name)
	}
	for _, id := range ids {
		for _, l := range i18n.Langs {
			if !c.Has(l, id) {
				t.Errorf("message %s is missing in %s", id, l)
			}
		}
	}
	if !slices.Contains(ids, "incident.type.lost_device") {
		t.Error("the id list misses the types")
	}
}

// stringsOf returns an enumeration's stored words.
func stringsOf[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
