// SPDX-License-Identifier: Apache-2.0

// Package sigma is koban's Sigma engine: it parses, validates, compiles and
// evaluates Sigma rules (specification v2.1, in the shared data's
// sigma-specification), including filters and correlation rules. The Go
// module proxy refuses the public Sigma engines, and this is where koban has
// to be fastest (DESIGN.md §4).
//
// Parse reads one YAML file that may hold several documents: detection
// rules, filter rules and correlation rules. Every problem is a *Problem
// with file, line and column; a document with problems is skipped and the
// others still load.
//
// Compile turns rules into a Ruleset. Compilation does the work once:
//   - every value becomes an atom: an exact, prefix, suffix or substring
//     literal; a glob with its longest literal piece as a prefilter; a
//     regular expression (compiled once, with a required literal when one
//     can be found); or a check that needs the value itself (cidr, numeric
//     comparison, exists, null, fieldref, time parts, case-sensitive);
//   - literals of all rules that share a logsource go into one
//     Aho-Corasick automaton per field (case folded in the automaton's byte
//     classes) and one hash map per field for exact values, so one pass over
//     an event's fields tells which literal atoms hold;
//   - each rule keeps a "need set": literal atoms at least one of which must
//     hold for the rule to match. Only rules whose need set was hit, and the
//     few that have none, have their condition evaluated;
//   - regular expressions run in a form that only asks whether they match
//     (a leading \w+ becomes \w), anchored at a literal they hold when
//     there is one, and .{n,} becomes a run-length check.
//
// ADR 0008 records the design and the semantics chosen where the
// specification leaves a choice.
//
// A Correlator (correlate.go) evaluates correlation rules over the matches
// a Matcher reports: sliding or closing windows per group-by key, chains,
// generate, bounded state with Snapshot and Restore. Observe takes
// matches in event order; Advance closes windows by a clock when events
// stop (the detector calls it when the stream is quiet, an offline scan at
// its end).
//
// A Matcher (one per goroutine) evaluates events. Its hot path does not
// allocate: atom results are stamped with a per-event generation instead of
// cleared, and the lowered copy of a field value lives in reused buffers.
//
// Field mapping (Mapping) lets a rule's field name stand for one or more
// event fields per logsource, for sources the normaliser does not already
// rename; a mapped predicate matches when any of the fields does.
//
// The package knows nothing of logs' formats: events are event.Event as
// normalize produces them (canonical Sigma field names), and the caller
// passes how rule logsources apply to event logsources.
package sigma
