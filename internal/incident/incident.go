// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"slices"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
)

// Status says whether an incident is being worked on, stored as-is. The
// phase says how far the work has come.
type Status string

// The statuses.
const (
	// StatusOpen: being worked on.
	StatusOpen Status = "open"
	// StatusOnHold: waiting for someone outside the team (a vendor, the
	// police, an insurer); the reason says for whom.
	StatusOnHold Status = "on_hold"
	// StatusClosed: finished; only a reopen (with a reason) changes it.
	StatusClosed Status = "closed"
)

// Statuses lists every status.
var Statuses = []Status{StatusOpen, StatusOnHold, StatusClosed}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Phase is where an incident stands in the response lifecycle (NIST SP
// 800-61's phases, review being the post-incident activity), stored as-is.
type Phase string

// The phases, in lifecycle order.
const (
	PhaseTriage      Phase = "triage"
	PhaseAnalysis    Phase = "analysis"
	PhaseContainment Phase = "containment"
	PhaseEradication Phase = "eradication"
	PhaseRecovery    Phase = "recovery"
	PhaseReview      Phase = "review"
	PhaseClosed      Phase = "closed"
)

// Phases lists every phase in lifecycle order.
var Phases = []Phase{PhaseTriage, PhaseAnalysis, PhaseContainment, PhaseEradication, PhaseRecovery, PhaseReview, PhaseClosed}

// Valid reports whether p is one of the phases.
func (p Phase) Valid() bool { return slices.Contains(Phases, p) }

// order is p's position in the lifecycle, -1 for an invalid phase.
func (p Phase) order() int { return slices.Index(Phases, p) }

// Before reports whether p comes earlier in the lifecycle than o.
func (p Phase) Before(o Phase) bool { return p.Valid() && o.Valid() && p.order() < o.order() }

// IPAStep is one of the three steps of IPA's 「中小企業のためのセキュリティ
// インシデント対応の手引き」 (中小企業の情報セキュリティ対策ガイドライン第3.1版),
// which Japanese SMEs know; koban shows it beside the phase.
type IPAStep string

// The steps, in the handbook's order.
const (
	// IPADetect is 検知・初動対応: discovery, first report, stopping the
	// damage from spreading.
	IPADetect IPAStep = "detect_respond"
	// IPAReport is 報告・公表: telling those affected, the authorities
	// and, where needed, the public. It is not a phase: it runs beside the
	// work from containment until the incident closes.
	IPAReport IPAStep = "report_publish"
	// IPARecover is 復旧・再発防止: investigation, recovery and
	// preventing a recurrence.
	IPARecover IPAStep = "recover_prevent"
)

// IPASteps lists the steps in order.
var IPASteps = []IPAStep{IPADetect, IPAReport, IPARecover}

// IPAStep returns the IPA step a phase belongs to: triage, analysis and
// containment are 検知・初動対応; eradication, recovery, review and closed
// are 復旧・再発防止. 報告・公表 (IPAReport) belongs to no phase; see
// Incident.IPASteps.
func (p Phase) IPAStep() IPAStep {
	switch p {
	case PhaseTriage, PhaseAnalysis, PhaseContainment:
		return IPADetect
	case PhaseEradication, PhaseRecovery, PhaseReview, PhaseClosed:
		return IPARecover
	}
	return ""
}

// CanMove reports whether an open incident may move from phase from to phase
// to with ChangePhase: between any two of analysis to review, forward
// (skipping is fine: not every incident needs eradication) or back (with a
// reason, as when containment turns out to have missed a host), and from
// triage to any of them. Nothing returns to triage, which means nobody has
// looked; closed is reached only by Close and left only by Reopen.
func CanMove(from, to Phase) bool {
	return from.Valid() && to.Valid() && from != to && from != PhaseClosed &&
		to != PhaseClosed && to != PhaseTriage
}

// MoveNeedsReason reports whether moving between phases needs a reason:
// going back does.
func MoveNeedsReason(from, to Phase) bool { return to.Before(from) }

// Resolution says how a closed incident ended, for metrics.
type Resolution string

// The resolutions.
const (
	ResolutionResolved      Resolution = "resolved"
	ResolutionFalsePositive Resolution = "false_positive"
	ResolutionDuplicate     Resolution = "duplicate"
	ResolutionOther         Resolution = "other"
)

// Resolutions lists every resolution.
var Resolutions = []Resolution{ResolutionResolved, ResolutionFalsePositive, ResolutionDuplicate, ResolutionOther}

// Valid reports whether r is one of the resolutions.
func (r Resolution) Valid() bool { return slices.Contains(Resolutions, r) }

// Field is a custom field: a name and a value a team tracks that koban has
// no field for (an insurer's claim number, a police case number).
type Field struct {
	Name  string
	Value string
}

// Override is a severity set by a person instead of the computed one.
type Override struct {
	Severity Severity // "" when there is no override
	Reason   string
	ByID     int64
	By       string
	At       time.Time
}

// Incident is a case: one security incident and the state of its response.
type Incident struct {
	ID     int64
	Tenant string // "" for the single-tenant install
	// Ref is the human reference, INC-<year>-<number> (INC-2026-0001),
	// numbered per tenant and year; the year is the creation's in the
	// Service's time zone.
	Ref         string
	Title       string
	Description string
	Type        Type
	Status      Status
	// StatusReason is why the incident is on hold, or was reopened.
	StatusReason string
	Phase        Phase
	// Resolution and Summary say how a closed incident ended.
	Resolution Resolution
	Summary    string
	// Severity is the effective severity: the override's when there is
	// one, else the assessment's; "" until either is made.
	Severity   Severity
	Assessment Assessment // zero until the impact questionnaire is answered
	Override   Override
	// Assignees are the user ids of the people handling the incident.
	Assignees []int64
	// AffectedAssets and AffectedUsers are free text (host names, people)
	// until the asset register links them.
	AffectedAssets []string
	AffectedUsers  []string
	// Techniques are MITRE ATT&CK technique ids (T1566, T1059.001).
	Techniques []string
	Fields     []Field
	Tags       []string
	// Flags are the legal facts that start regulatory clocks.
	Flags Flags
	// AwareAt is when the organisation became aware of the incident: the
	// regulatory clocks count from it. DetectedAt is when it was first
	// detected (by a tool or a person).
	DetectedAt time.Time
	AwareAt    time.Time
	// The times the response reached its milestones, for metrics (time to
	// acknowledge, contain, resolve); set by the phase changes the first
	// time the incident passes them. AcknowledgedAt: left triage.
	// ContainedAt: reached eradication or later. ResolvedAt: reached review
	// or closed. ClosedAt: closed (zero again after a reopen).
	AcknowledgedAt time.Time
	ContainedAt    time.Time
	ResolvedAt     time.Time
	ClosedAt       time.Time
	CreatedByID    int64
	CreatedBy      string
	// Version counts changes of the incident record, for optimistic
	// locking. Tasks, timeline entries, links and the review have their
	// own rows and do not change it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Closed reports whether the incident is closed.
func (i Incident) Closed() bool { return i.Status == StatusClosed }

// IPASteps returns the IPA steps the incident is in, for display: its
// phase's step, and 報告・公表 too while it is open past triage and analysis
// with any regulatory flag set (reporting runs beside the technical work).
func (i Incident) IPASteps() []IPAStep {
	st := i.Phase.IPAStep()
	if i.Closed() || st == "" {
		return []IPAStep{st}
	}
	if i.Flags != (Flags{}) && !i.Phase.Before(PhaseContainment) {
		if st == IPADetect {
			return []IPAStep{IPADetect, IPAReport}
		}
		return []IPAStep{IPAReport, IPARecover}
	}
	return []IPAStep{st}
}

// Brief returns the incident without its details (description, affected
// users, custom fields, closing summary, assessment), as roles that read
// summaries only see it.
func (i Incident) Brief() Incident {
	i.Description, i.Summary, i.AffectedUsers, i.Fields, i.Assessment = "", "", nil, nil, Assessment{}
	i.Override.Reason, i.StatusReason = "", ""
	return i
}

// FormatRef returns the reference of the n-th incident of a year.
func FormatRef(year, n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return "INC-" + strconv.Itoa(year) + "-" + s
}

// Input is what a person writes about an incident, to Create and Update.
// Update replaces every field with the input's.
type Input struct {
	Title          string // required
	Description    string
	Type           Type // required
	AffectedAssets []string
	AffectedUsers  []string
	Techniques     []string
	Fields         []Field
	Tags           []string
	Flags          Flags
	// AwareAt zero means now at Create and "unchanged" at Update;
	// DetectedAt zero means AwareAt at Create and unchanged at Update.
	DetectedAt time.Time
	AwareAt    time.Time
}

// Draft is a new incident.
type Draft struct {
	Tenant string
	Input
	// Impact, when given, is assessed at once.
	Impact *Impact
	// Assignees are user ids; the creator is not added by default.
	Assignees []int64
}

// Ref names an incident to change and, unless Version is 0, the version the
// person saw: if the incident has changed since, the change is refused as
// Conflict "incident.changed". Update always needs the version.
type Ref struct {
	ID      int64
	Version int64
}

// LinkKind says how two incidents are related, stored as-is.
type LinkKind string

// The link kinds. A link goes from one incident to another: From is a
// duplicate of To; To is From's parent. Related is symmetric.
const (
	LinkRelated     LinkKind = "related"
	LinkDuplicateOf LinkKind = "duplicate_of"
	LinkParent      LinkKind = "parent"
)

// LinkKinds lists every link kind.
var LinkKinds = []LinkKind{LinkRelated, LinkDuplicateOf, LinkParent}

// Valid reports whether k is one of the link kinds.
func (k LinkKind) Valid() bool { return slices.Contains(LinkKinds, k) }

// Link is a relation between two incidents of one tenant.
type Link struct {
	From      int64
	To        int64
	Kind      LinkKind
	CreatedAt time.Time
	AuthorID  int64
	Author    string
}

// Linked is a link as one of its incidents sees it, with the other incident
// in brief.
type Linked struct {
	Link
	// Reverse is set when the incident is the link's To: it has a duplicate
	// (duplicate_of) or a child (parent).
	Reverse bool
	// Other is the incident at the other end.
	Other Headline
}

// Headline is an incident in a line: what lists of links, overdue tasks and
// prevention actions show of it.
type Headline struct {
	ID       int64
	Ref      string
	Title    string
	Type     Type
	Status   Status
	Phase    Phase
	Severity Severity
}

// Headline returns the incident in a line.
func (i Incident) Headline() Headline {
	return Headline{ID: i.ID, Ref: i.Ref, Title: i.Title, Type: i.Type, Status: i.Status, Phase: i.Phase, Severity: i.Severity}
}

// Person is a koban user, as incidents see one: to check an assignee or a
// task owner.
type Person struct {
	ID       int64
	Name     string
	Role     string
	Disabled bool
}

// Access is what an actor may do with incidents. The caller derives it from
// the actor's role (internal/auth): AccessFull for auth.PermIncidents,
// AccessSummary for the roles that read management summaries only.
type Access int

// The access levels.
const (
	// AccessNone: nothing.
	AccessNone Access = iota
	// AccessSummary: incident lists in brief (Incident.Brief), counts,
	// overdue tasks and prevention actions.
	AccessSummary
	// AccessFull: read and change everything.
	AccessFull
)

// Actor is who acts on incidents: the audit trail's actor and what they may
// do.
type Actor struct {
	audit.Actor
	Access Access
}

// Detail is an incident with everything the incident page shows.
type Detail struct {
	Incident
	Tasks    []Task  // by position
	Timeline []Entry // oldest first, by when it happened
	Links    []Linked
	Review   Review // zero (IncidentID 0) when none was written
	Actions  []PreventionAction
}

// Filter selects incidents for the list. Empty fields select everything.
type Filter struct {
	Tenant     string // exact; "" is the single-tenant install
	Statuses   []Status
	Phases     []Phase
	Types      []Type
	Severities []Severity
	AssigneeID int64 // incidents this user is assigned to
	// Text matches a substring of the reference, title, description,
	// affected assets and users, tags, techniques and custom field values,
	// ignoring case.
	Text  string
	Limit int   // 1 to MaxLimit; DefaultLimit when 0
	After int64 // cursor: the Next of the previous page
}

// Page is one page of the incident list.
type Page struct {
	Incidents []Incident
	// Next is the cursor for the following page (Filter.After), or 0 on
	// the last page.
	Next int64
}

// Paging bounds of the list.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)
