// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/fault"
)

func TestAssess(t *testing.T) {
	t.Parallel()
	im := func(fn FunctionalImpact, crit Criticality, rec Recoverability, people int64, info ...InformationImpact) Impact {
		return Impact{Functional: fn, Information: info, People: people, Recoverability: rec, Criticality: crit}
	}
	const why = "incident.severity.why."
	tests := []struct {
		name    string
		in      Impact
		want    Severity
		reasons []string // message ids without the prefix, in order
	}{
		{"nothing at all", im(FunctionalNone, CriticalityMedium, RecoverRegular, 0),
			SeverityLow, []string{"functional_none", "info_none", "recover_regular"}},
		{"low functional", im(FunctionalLow, CriticalityMedium, RecoverRegular, 0),
			SeverityLow, []string{"functional_low", "info_none", "recover_regular"}},
		{"medium functional", im(FunctionalMedium, CriticalityMedium, RecoverRegular, 0),
			SeverityMedium, []string{"functional_medium", "info_none", "recover_regular"}},
		{"medium functional, critical business", im(FunctionalMedium, CriticalityHigh, RecoverRegular, 0),
			SeverityHigh, []string{"functional_medium", "criticality_high", "info_none", "recover_regular"}},
		{"high functional, critical business", im(FunctionalHigh, CriticalityHigh, RecoverRegular, 0),
			SeverityCritical, []string{"functional_high", "criticality_high", "info_none", "recover_regular"}},
		{"high functional, minor business", im(FunctionalHigh, CriticalityLow, RecoverRegular, 0),
			SeverityMedium, []string{"functional_high", "criticality_low", "info_none", "recover_regular"}},
		{"low functional, minor business: no lower than low", im(FunctionalLow, CriticalityLow, RecoverRegular, 0),
			SeverityLow, []string{"functional_low", "info_none", "recover_regular"}},
		{"no functional impact is not raised by criticality", im(FunctionalNone, CriticalityHigh, RecoverRegular, 0),
			SeverityLow, []string{"functional_none", "info_none", "recover_regular"}},
		{"personal data of a few", im(FunctionalNone, CriticalityMedium, RecoverRegular, 10, InfoPersonal),
			SeverityMedium, []string{"functional_none", "info_personal", "recover_regular"}},
		{"personal data of exactly 1,000", im(FunctionalNone, CriticalityMedium, RecoverRegular, 1000, InfoPersonal),
			SeverityMedium, []string{"functional_none", "info_personal", "recover_regular"}},
		{"personal data of 1,001", im(FunctionalNone, CriticalityMedium, RecoverRegular, 1001, InfoPersonal),
			SeverityHigh, []string{"functional_none", "info_personal", "people_over", "recover_regular"}},
		{"要配慮個人情報 of one person", im(FunctionalNone, CriticalityMedium, RecoverRegular, 1, InfoSensitive),
			SeverityHigh, []string{"functional_none", "info_sensitive", "recover_regular"}},
		{"payment data of 5,000", im(FunctionalNone, CriticalityMedium, RecoverRegular, 5000, InfoPayment),
			SeverityCritical, []string{"functional_none", "info_payment", "people_over", "recover_regular"}},
		{"confidential data: the number of people does not count", im(FunctionalNone, CriticalityMedium, RecoverRegular, 5000, InfoConfidential),
			SeverityMedium, []string{"functional_none", "info_confidential", "recover_regular"}},
		{"extended recovery", im(FunctionalNone, CriticalityMedium, RecoverExtended, 0),
			SeverityHigh, []string{"functional_none", "info_none", "recover_extended"}},
		{"not recoverable", im(FunctionalNone, CriticalityMedium, RecoverNotRecoverable, 0),
			SeverityHigh, []string{"functional_none", "info_none", "recover_not_recoverable"}},
		{"supplemented recovery", im(FunctionalLow, CriticalityMedium, RecoverSupplemented, 0),
			SeverityMedium, []string{"functional_low", "info_none", "recover_supplemented"}},
		{"two areas high", im(FunctionalHigh, CriticalityMedium, RecoverRegular, 3, InfoSensitive),
			SeverityCritical, []string{"functional_high", "info_sensitive", "recover_regular", "combined"}},
		{"one area high, one medium", im(FunctionalMedium, CriticalityMedium, RecoverExtended, 0),
			SeverityHigh, []string{"functional_medium", "info_none", "recover_extended"}},
		{"three areas high", im(FunctionalHigh, CriticalityMedium, RecoverExtended, 1, InfoPayment),
			SeverityCritical, []string{"functional_high", "info_payment", "recover_extended", "combined"}},
		{"several kinds, worst counts, listed once each", im(FunctionalNone, CriticalityMedium, RecoverRegular, 2,
			InfoConfidential, InfoNone, InfoPersonal, InfoConfidential),
			SeverityMedium, []string{"functional_none", "info_personal", "info_confidential", "recover_regular"}},
	}
	for _, tt := range tests {
		got, reasons, err := Assess(tt.in)
		if err != nil {
			t.Errorf("Assess(%s %+v): %v", tt.name, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Assess(%s %+v) = %s, want %s", tt.name, tt.in, got, tt.want)
		}
		var ids []string
		decided := false
		for _, r := range reasons {
			ids = append(ids, r.Msg[len(why):])
			if !r.Severity.Valid() {
				t.Errorf("Assess(%s): reason %s has severity %q", tt.name, r.Msg, r.Severity)
			}
			decided = decided || r.Severity == got
		}
		if !decided {
			t.Errorf("Assess(%s) = %s, but no reason leads to it: %+v", tt.name, got, reasons)
		}
		if diff := cmp.Diff(tt.reasons, ids); diff != "" {
			t.Errorf("Assess(%s) reasons (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestAssessReasonArgs(t *testing.T) {
	t.Parallel()
	_, reasons, err := Assess(Impact{Functional: FunctionalHigh, Information: []InformationImpact{InfoPayment}, People: 1500,
		Recoverability: RecoverRegular, Criticality: CriticalityMedium})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"incident.severity.why.people_over": {"people", "1500", "limit", "1000"},
		"incident.severity.why.combined":    {"count", "2"},
	}
	for _, r := range reasons {
		if w, ok := want[r.Msg]; ok {
			if diff := cmp.Diff(w, r.Args); diff != "" {
				t.Errorf("reason %s args (-want +got):\n%s", r.Msg, diff)
			}
			if got := r.MsgArgs(); len(got) != len(w) {
				t.Errorf("reason %s MsgArgs() = %v, want %d values", r.Msg, got, len(w))
			}
			delete(want, r.Msg)
		}
	}
	for msg := range want {
		t.Errorf("Assess: no reason %s", msg)
	}
}

func TestAssessInvalid(t *testing.T) {
	t.Parallel()
	_, _, err := Assess(Impact{Functional: "", Information: []InformationImpact{"secret"}, People: -1,
		Recoverability: "soon", Criticality: "huge"})
	var fields []string
	for _, f := range fault.Faults(err) {
		if f.Kind != fault.Invalid {
			t.Errorf("Assess(bad answers): fault %v is not Invalid", f)
		}
		fields = append(fields, f.Field)
	}
	want := []string{"functional", "information", "people", "recoverability", "criticality"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("Assess(bad answers) fields (-want +got):\n%s", diff)
	}
	if _, _, err := Assess(Impact{Functional: FunctionalLow, People: maxPeople + 1, Recoverability: RecoverRegular,
		Criticality: CriticalityLow}); !fault.Is(err, fault.Invalid) {
		t.Errorf("Assess(too many people): got %v, want Invalid", err)
	}
}

func TestSeverityOrder(t *testing.T) {
	t.Parallel()
	for i, s := range Severities {
		if s.Rank() != i+1 {
			t.Errorf("%s.Rank() = %d, want %d", s, s.Rank(), i+1)
		}
	}
	for _, c := range []struct {
		s, min Severity
		want   bool
	}{{SeverityHigh, SeverityHigh, true}, {SeverityCritical, SeverityHigh, true}, {SeverityMedium, SeverityHigh, false},
		{"", SeverityLow, false}, {"bogus", SeverityLow, false}} {
		if got := c.s.AtLeast(c.min); got != c.want {
			t.Errorf("Severity(%q).AtLeast(%s) = %v, want %v", c.s, c.min, got, c.want)
		}
	}
}
