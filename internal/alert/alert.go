// SPDX-License-Identifier: Apache-2.0

package alert

import (
	"time"
)

// KV is a named value: a key field of a detection, or one condition of an
// exclusion.
type KV struct {
	Name  string
	Value string
}

// The sources a detection comes from. Source is free text to the store; these
// are the values koban's own detectors use.
const (
	SourceSigma       = "sigma"
	SourceIOC         = "ioc"
	SourceBaseline    = "baseline"
	SourceCorrelation = "correlation"
)

// Detection is what a detector found: the input of Record. Values are
// untrusted text from events; Record cleans and bounds them.
type Detection struct {
	Tenant    string    // "" for the single-tenant install
	Time      time.Time // when the matching event happened; zero means now
	Source    string    // SourceSigma, SourceIOC, SourceBaseline, SourceCorrelation
	RuleID    string    // required
	RuleTitle string
	Level     Level    // required
	Tags      []string // Sigma tags: attack.t1059.001, attack.execution, …
	Host      string
	User      string
	Fields    []KV     // key fields, in the order to show them
	EventIDs  []string // text form of event.ID of the matching events
	// Count is how many detections this one stands for (0 counts as 1):
	// a detector may merge a burst of one rule's matches on one host and
	// user into a single Record. Last is the latest of their times (zero:
	// Time).
	Count int
	Last  time.Time
}

// State is where an alert stands in triage, stored as-is. See the transitions
// table in triage.go.
type State string

// The states.
const (
	StateNew           State = "new"
	StateAcknowledged  State = "acknowledged"
	StateInProgress    State = "in_progress"
	StateFalsePositive State = "false_positive"
	StateTruePositive  State = "true_positive"
	StateClosed        State = "closed"
)

// States lists every state in queue order.
var States = []State{StateNew, StateAcknowledged, StateInProgress, StateFalsePositive, StateTruePositive, StateClosed}

// OpenStates are the states in which an alert still takes new detections of
// its group.
var OpenStates = []State{StateNew, StateAcknowledged, StateInProgress}

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	switch s {
	case StateNew, StateAcknowledged, StateInProgress, StateFalsePositive, StateTruePositive, StateClosed:
		return true
	}
	return false
}

// Open reports whether s is new, acknowledged or in progress.
func (s State) Open() bool {
	return s == StateNew || s == StateAcknowledged || s == StateInProgress
}

// Alert is a group of detections of one rule on one host and user, and its
// triage state.
type Alert struct {
	ID        int64
	Tenant    string
	Source    string
	RuleID    string
	RuleTitle string
	Level     Level // the highest level of the detections grouped so far
	Tags      []string
	Host      string
	User      string
	Fields    []KV // the key fields of the first detection
	FirstSeen time.Time
	LastSeen  time.Time
	Count     int64 // detections grouped, including those whose events are no longer linked
	EventRefs int   // events linked (at most Options.MaxEvents)
	State     State
	// StateReason is why the alert reached its state, such as why it is a
	// false positive.
	StateReason string
	AssigneeID  int64 // 0 when unassigned
	// AssigneeName is the assignee's user name; filled by reads, ignored by
	// writes.
	AssigneeName string
	// Version counts triage changes (state, assignee), for optimistic
	// locking; grouping new detections does not change it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Techniques returns the ATT&CK technique ids in the alert's tags.
func (a Alert) Techniques() []string { return Techniques(a.Tags) }

// Tactics returns the ATT&CK tactics in the alert's tags.
func (a Alert) Tactics() []string { return TacticsOf(a.Tags) }

// GroupKey is what detections of one alert share.
type GroupKey struct {
	Tenant string
	RuleID string
	Host   string
	User   string
}

// Action says what a history entry records.
type Action string

// The history actions.
const (
	ActionCreated    Action = "created"    // To: the first state
	ActionState      Action = "state"      // From, To: states
	ActionAssign     Action = "assign"     // From, To: user names, "" for nobody
	ActionEscalate   Action = "escalate"   // From, To: levels
	ActionSuppressed Action = "suppressed" // To: the exclusion id made from the alert
)

// HistoryEntry is one change of an alert: who, when, what from and to, why.
type HistoryEntry struct {
	ID      int64
	AlertID int64
	At      time.Time
	ActorID int64  // 0 for koban itself
	Actor   string // user name, or "system"
	Action  Action
	From    string
	To      string
	Reason  string
}

// Detail is an alert with its linked events and its history, for the alert
// page.
type Detail struct {
	Alert
	// EventIDs are the linked events in the order they were grouped.
	EventIDs []string
	// History is oldest first.
	History []HistoryEntry
}

// Outcome says what Record did with a detection.
type Outcome string

// The outcomes.
const (
	OutcomeCreated    Outcome = "created"    // a new alert
	OutcomeGrouped    Outcome = "grouped"    // added to an open alert
	OutcomeEscalated  Outcome = "escalated"  // added to an open alert whose level it raised
	OutcomeDuplicate  Outcome = "duplicate"  // every event was already linked: a replay, not counted
	OutcomeSuppressed Outcome = "suppressed" // an exclusion matched: no alert, a hit counted
)

// Notify reports whether the outcome calls for notifications: a new alert or
// a raised level.
func (o Outcome) Notify() bool { return o == OutcomeCreated || o == OutcomeEscalated }
