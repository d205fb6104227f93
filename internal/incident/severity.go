// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"slices"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
)

// Severity, its values and Severities are declared with the clocks
// (clock.go), whose service levels depend on them.

// Rank orders severities: 1 for low up to 4 for critical, 0 for an invalid
// or missing one.
func (s Severity) Rank() int { return slices.Index(Severities, s) + 1 }

// AtLeast reports whether s is as serious as min or more; a missing
// severity is not.
func (s Severity) AtLeast(min Severity) bool { return s.Valid() && s.Rank() >= min.Rank() }

// FunctionalImpact is how much the incident hurts what the organisation does
// (NIST SP 800-61r2 table 3-2).
type FunctionalImpact string

// The functional impacts.
const (
	FunctionalNone   FunctionalImpact = "none"   // no effect on services
	FunctionalLow    FunctionalImpact = "low"    // all critical services still provided, less efficiently
	FunctionalMedium FunctionalImpact = "medium" // a critical service lost for some users
	FunctionalHigh   FunctionalImpact = "high"   // a critical service lost for everyone
)

// FunctionalImpacts lists them, least first.
var FunctionalImpacts = []FunctionalImpact{FunctionalNone, FunctionalLow, FunctionalMedium, FunctionalHigh}

// InformationImpact is a kind of information the incident exposed, changed
// or lost.
type InformationImpact string

// The information impacts.
const (
	InfoNone         InformationImpact = "none"
	InfoPersonal     InformationImpact = "personal"     // 個人データ
	InfoSensitive    InformationImpact = "sensitive"    // 要配慮個人情報 (health, criminal record, creed …)
	InfoPayment      InformationImpact = "payment"      // card numbers, bank credentials: 財産的被害のおそれ
	InfoConfidential InformationImpact = "confidential" // confidential business data (trade secrets, contracts)
)

// InformationImpacts lists them.
var InformationImpacts = []InformationImpact{InfoNone, InfoPersonal, InfoSensitive, InfoPayment, InfoConfidential}

// personal reports whether the kind is data about people.
func (k InformationImpact) personal() bool {
	return k == InfoPersonal || k == InfoSensitive || k == InfoPayment
}

// Recoverability is what it takes to recover (NIST SP 800-61r2 table 3-4).
type Recoverability string

// The recoverabilities.
const (
	RecoverRegular        Recoverability = "regular"         // predictable, with existing resources
	RecoverSupplemented   Recoverability = "supplemented"    // predictable, with more resources
	RecoverExtended       Recoverability = "extended"        // unpredictable; outside help needed
	RecoverNotRecoverable Recoverability = "not_recoverable" // impossible, such as data published
)

// Recoverabilities lists them, easiest first.
var Recoverabilities = []Recoverability{RecoverRegular, RecoverSupplemented, RecoverExtended, RecoverNotRecoverable}

// Criticality is how critical the affected business functions are.
type Criticality string

// The criticalities.
const (
	CriticalityLow    Criticality = "low"
	CriticalityMedium Criticality = "medium"
	CriticalityHigh   Criticality = "high"
)

// Criticalities lists them, least first.
var Criticalities = []Criticality{CriticalityLow, CriticalityMedium, CriticalityHigh}

// PPCPeople is the number of people above which a personal-data leak is
// reportable to the PPC whatever the data (施行規則 7条 4号: more than 1,000).
const PPCPeople = 1000

// maxPeople bounds the number of people an answer may give.
const maxPeople = 10_000_000_000

// Impact is the answers to the severity questionnaire.
type Impact struct {
	Functional FunctionalImpact
	// Information lists what kinds of information were affected; empty
	// (or only InfoNone) for none.
	Information []InformationImpact
	// People is how many people's data was affected, as far as known; 0
	// when none or unknown.
	People         int64
	Recoverability Recoverability
	Criticality    Criticality
}

// Reason is one line of the reasoning behind a computed severity: a message
// id of the catalogue with its named arguments (name, value pairs), and the
// severity the answer alone leads to.
type Reason struct {
	Msg      string
	Args     []string
	Severity Severity
}

// MsgArgs returns Args as the catalogue's T takes them.
func (r Reason) MsgArgs() []any {
	out := make([]any, len(r.Args))
	for i, a := range r.Args {
		out[i] = a
	}
	return out
}

// Assessment is an answered questionnaire and what it computed.
type Assessment struct {
	Impact   Impact
	Severity Severity // "" when the incident was never assessed
	Reasons  []Reason
	At       time.Time
	ByID     int64
	By       string
}

// check validates im and returns it with Information deduplicated, InfoNone
// dropped and in the order of InformationImpacts.
func (im Impact) check() (Impact, error) {
	var errs fault.List
	if !slices.Contains(FunctionalImpacts, im.Functional) {
		errs = append(errs, fault.InvalidField("functional", "incident.severity.functional_invalid"))
	}
	var info []InformationImpact
	for _, k := range im.Information {
		if !slices.Contains(InformationImpacts, k) {
			errs = append(errs, fault.InvalidField("information", "incident.severity.information_invalid",
				"value", cleanLine(string(k), maxIDLen)))
		}
	}
	for _, k := range InformationImpacts[1:] {
		if slices.Contains(im.Information, k) {
			info = append(info, k)
		}
	}
	if im.People < 0 || im.People > maxPeople {
		errs = append(errs, fault.InvalidField("people", "incident.severity.people_invalid"))
	}
	if !slices.Contains(Recoverabilities, im.Recoverability) {
		errs = append(errs, fault.InvalidField("recoverability", "incident.severity.recoverability_invalid"))
	}
	if !slices.Contains(Criticalities, im.Criticality) {
		errs = append(errs, fault.InvalidField("criticality", "incident.severity.criticality_invalid"))
	}
	if err := errs.Err(); err != nil {
		return Impact{}, err
	}
	im.Information = info
	return im, nil
}

// Assess computes a severity from the questionnaire's answers, with the
// reasoning. Each answer leads to a level (points 1 low to 4 critical):
//
//   - functional impact: none counts nothing, low 1, medium 2, high 3;
//     a highly critical business function counts one level more (up to 4),
//     a function of low criticality one less (down to 1);
//   - information: confidential business data and personal data 2,
//     payment data and 要配慮個人情報 3 (PPC reportable from one person);
//     data about people of more than PPCPeople people one level more;
//   - recoverability: regular 1, supplemented 2, extended and not
//     recoverable 3.
//
// The severity is the highest level, and critical when two or more of the
// three areas are at high or above. Invalid answers are Invalid, field by
// field.
func Assess(im Impact) (Severity, []Reason, error) {
	im, err := im.check()
	if err != nil {
		return "", nil, err
	}
	var reasons []Reason
	add := func(points int, msg string, args ...string) {
		reasons = append(reasons, Reason{Msg: msg, Args: args, Severity: Severities[points-1]})
	}

	fn := slices.Index(FunctionalImpacts, im.Functional) // none 0 … high 3
	if fn == 0 {
		add(1, "incident.severity.why.functional_none")
	} else {
		add(fn, "incident.severity.why.functional_"+string(im.Functional))
		switch im.Criticality {
		case CriticalityHigh:
			fn = min(fn+1, 4)
			add(fn, "incident.severity.why.criticality_high")
		case CriticalityLow:
			if fn > 1 {
				fn--
				add(fn, "incident.severity.why.criticality_low")
			}
		}
	}

	info, personal := 0, false
	for _, k := range im.Information {
		p := 2
		if k == InfoPayment || k == InfoSensitive {
			p = 3
		}
		info = max(info, p)
		personal = personal || k.personal()
		add(p, "incident.severity.why.info_"+string(k))
	}
	if len(im.Information) == 0 {
		add(1, "incident.severity.why.info_none")
	}
	if personal && im.People > PPCPeople {
		info = min(info+1, 4)
		add(info, "incident.severity.why.people_over", "people", strconv.FormatInt(im.People, 10), "limit", strconv.Itoa(PPCPeople))
	}

	rec := min(slices.Index(Recoverabilities, im.Recoverability)+1, 3)
	add(rec, "incident.severity.why.recover_"+string(im.Recoverability))

	points := max(fn, info, rec, 1)
	high := 0
	for _, p := range []int{fn, info, rec} {
		if p >= 3 {
			high++
		}
	}
	if high >= 2 {
		points = 4
		add(points, "incident.severity.why.combined", "count", strconv.Itoa(high))
	}
	return Severities[points-1], reasons, nil
}
