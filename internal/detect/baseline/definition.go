// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is what a definition looks for.
type Kind string

// The kinds of baseline.
const (
	// FirstSeen reports a value the first time it is seen for a subject
	// (a new program on a host, a new source address for a user).
	FirstSeen Kind = "first_seen"
	// Rare reports a value seen at most Threshold times within Window,
	// counting this sighting (a parent/child pair hardly ever seen).
	Rare Kind = "rare"
	// Threshold reports a subject with Threshold events within Window (ten
	// failed logons in ten minutes), then stays quiet for one Window.
	Threshold Kind = "threshold"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == FirstSeen || k == Rare || k == Threshold }

// Level is the severity of a finding, in Sigma's words.
type Level string

// The levels, lowest first.
const (
	LevelInformational Level = "informational"
	LevelLow           Level = "low"
	LevelMedium        Level = "medium"
	LevelHigh          Level = "high"
	LevelCritical      Level = "critical"
)

// Valid reports whether l is one of Sigma's levels.
func (l Level) Valid() bool {
	switch l {
	case LevelInformational, LevelLow, LevelMedium, LevelHigh, LevelCritical:
		return true
	}
	return false
}

// Host is the pseudo-field that stands for Event.Host in Key, Value and
// conditions.
const Host = "host"

// MaxThreshold bounds Threshold: rare and threshold definitions keep the
// times of the last Threshold sightings of each entry, so a definition
// holds at most MaxKeys × Threshold times (8 bytes each).
const MaxThreshold = 256

// Cond is a condition on one field: it holds when the field's value equals
// one of Values, ignoring case. A value "*" matches any non-empty value, "x*"
// values starting with x, "*x" values ending with x. Field may be Host.
type Cond struct {
	Field  string
	Values []string
}

// Match says which events a definition observes: every non-empty part of
// the logsource equals the event's (ignoring case), every condition of
// Fields holds and none of Except does.
type Match struct {
	Product, Category, Service string
	Fields                     []Cond
	Except                     []Cond
}

// Definition is one baseline.
//
// Key and Value name fields (or Host). An entry "A|B" takes the first of A
// and B the event has. An event that lacks a Key or Value field, or has it
// empty or "-", is not observed by the definition. Values are compared
// ignoring case (Windows paths, host and user names are case-insensitive;
// on Linux two paths differing only in case count as one), and user-name
// fields (User, TargetUserName, SubjectUserName, AccountName, SamAccountName,
// UserName, TargetUser) drop a domain: CORP\alice, alice@corp.example and
// alice are one user.
type Definition struct {
	// Name identifies the definition in findings, stats and snapshots:
	// lower-case letters, digits and '_'.
	Name string
	Kind Kind
	// Match lists the kinds of event observed; an event is observed when
	// any one matches.
	Match []Match
	// Key names the fields forming the subject (host, user); none means
	// one subject for all events.
	Key []string
	// Value names the fields forming the thing observed (Image; ParentImage
	// and Image). Threshold definitions may leave it empty: they then count
	// events per subject.
	Value []string
	// Learn is the learning period: a subject's findings are held back
	// until Learn has passed, by event time, since the subject was first
	// seen, so that a new host or user first builds its own baseline.
	Learn time.Duration
	// Window is the counting window of rare and threshold definitions; on
	// first_seen, when set, a value not seen for Window is new again.
	Window time.Duration
	// Threshold: for rare, the most sightings within Window that still
	// count as rare; for threshold, the events within Window that make a
	// finding. 1 to MaxThreshold.
	Threshold int
	Level     Level
	// TitleID and ReasonID are message ids of the i18n catalogue. For
	// definitions made by users, Title holds the title per language
	// ("en", "ja") instead, and ReasonID may be left empty (the kind's
	// generic reason, baseline.reason.<kind>, is used).
	TitleID  string
	Title    map[string]string
	ReasonID string
}

// reasonID returns the message id of the definition's findings.
func (d *Definition) reasonID() string {
	if d.ReasonID != "" {
		return d.ReasonID
	}
	return "baseline.reason." + string(d.Kind)
}

// Validate reports every problem of d at once.
func (d *Definition) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("baseline: definition %q: "+format, append([]any{d.Name}, args...)...))
	}
	if d.Name == "" || strings.Trim(d.Name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		bad("name must be lower-case letters, digits and _")
	}
	if !d.Kind.Valid() {
		bad("kind %q is not first_seen, rare or threshold", d.Kind)
	}
	if !d.Level.Valid() {
		bad("level %q is not informational, low, medium, high or critical", d.Level)
	}
	if len(d.Match) == 0 {
		bad("no match: it would observe every event")
	}
	for i, m := range d.Match {
		if m.Product == "" && m.Category == "" && m.Service == "" && len(m.Fields) == 0 {
			bad("match %d has no logsource and no field condition", i+1)
		}
		for _, c := range append(m.Fields[:len(m.Fields):len(m.Fields)], m.Except...) {
			if c.Field == "" || strings.Contains(c.Field, "|") {
				bad("match %d: condition field %q must be one field name", i+1, c.Field)
			}
			if len(c.Values) == 0 {
				bad("match %d: condition on %s has no values", i+1, c.Field)
			}
		}
	}
	for _, f := range append(d.Key[:len(d.Key):len(d.Key)], d.Value...) {
		for _, a := range strings.Split(f, "|") {
			if a == "" {
				bad("field %q names an empty field", f)
			}
		}
	}
	if len(d.Value) == 0 && d.Kind != Threshold {
		bad("%s needs a value field", d.Kind)
	}
	if d.Learn < 0 || d.Window < 0 {
		bad("learn and window must not be negative")
	}
	if d.Kind == Rare || d.Kind == Threshold {
		if d.Window <= 0 {
			bad("%s needs a window", d.Kind)
		}
		if d.Threshold < 1 || d.Threshold > MaxThreshold {
			bad("threshold %d is not between 1 and %d", d.Threshold, MaxThreshold)
		}
	}
	if d.TitleID == "" && d.Title["en"] == "" {
		bad("no title: set TitleID or Title[\"en\"]")
	}
	return errors.Join(errs...)
}

const day = 24 * time.Hour

// Defaults returns the built-in definitions:
//
//   - new_process: a program image run for the first time on a host
//     (Sysmon 1, Security 4688), after 7 days of learning per host;
//   - rare_parent_child: a parent/child image pair seen at most 3 times
//     across all hosts in 30 days, after 7 days of learning;
//   - new_logon_source: a source address a user never logged on from
//     (Security 4624 network and RDP logons, not machine accounts nor
//     loopback; sshd accepted logons), after 7 days of learning per user;
//   - new_service: a service name installed for the first time on a host
//     (System 7045, Security 4697), after 1 day of learning per host;
//   - failed_logons: 10 failed logons for one user from one source within
//     10 minutes (Security 4625; sshd "Failed …" lines).
func Defaults() []Definition {
	return []Definition{
		{
			Name: "new_process", Kind: FirstSeen, Level: LevelLow, Learn: 7 * day,
			Match: []Match{{Category: "process_creation"}},
			Key:   []string{Host}, Value: []string{"Image"},
			TitleID: "baseline.new_process.title", ReasonID: "baseline.new_process.reason",
		},
		{
			Name: "rare_parent_child", Kind: Rare, Level: LevelMedium, Learn: 7 * day, Window: 30 * day, Threshold: 3,
			Match:   []Match{{Category: "process_creation"}},
			Value:   []string{"ParentImage", "Image"},
			TitleID: "baseline.rare_parent_child.title", ReasonID: "baseline.rare_parent_child.reason",
		},
		{
			Name: "new_logon_source", Kind: FirstSeen, Level: LevelMedium, Learn: 7 * day,
			Match: []Match{
				{
					Product: "windows", Service: "security",
					Fields: []Cond{{"EventID", []string{"4624"}}, {"LogonType", []string{"3", "10"}}},
					Except: []Cond{{"TargetUserName", []string{"*$"}}, {"IpAddress", []string{"127.0.0.1", "::1"}}},
				},
				{Product: "linux", Service: "sshd", Fields: []Cond{{"AuthResult", []string{"success"}}}},
			},
			Key: []string{"TargetUserName|User"}, Value: []string{"IpAddress|SourceIp"},
			TitleID: "baseline.new_logon_source.title", ReasonID: "baseline.new_logon_source.reason",
		},
		{
			Name: "new_service", Kind: FirstSeen, Level: LevelMedium, Learn: day,
			Match: []Match{
				{Product: "windows", Service: "system", Fields: []Cond{{"EventID", []string{"7045"}}}},
				{Product: "windows", Service: "security", Fields: []Cond{{"EventID", []string{"4697"}}}},
			},
			Key: []string{Host}, Value: []string{"ServiceName"},
			TitleID: "baseline.new_service.title", ReasonID: "baseline.new_service.reason",
		},
		{
			Name: "failed_logons", Kind: Threshold, Level: LevelMedium, Window: 10 * time.Minute, Threshold: 10,
			Match: []Match{
				{Product: "windows", Service: "security", Fields: []Cond{{"EventID", []string{"4625"}}}},
				// sshd's "Failed password|publickey … for U from IP" only:
				// "Invalid user" and pam lines repeat the same attempt.
				{Product: "linux", Service: "sshd", Fields: []Cond{{"AuthResult", []string{"failure"}}, {"AuthMethod", []string{"*"}}}},
			},
			Key:     []string{"TargetUserName|User", "IpAddress|SourceIp|WorkstationName"},
			TitleID: "baseline.failed_logons.title", ReasonID: "baseline.failed_logons.reason",
		},
	}
}
