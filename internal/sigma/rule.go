// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"fmt"
	"strings"
)

// Kind says what a Sigma document is.
type Kind uint8

// The kinds of Sigma document.
const (
	KindRule        Kind = iota // a detection rule
	KindFilter                  // a meta filter applied to other rules
	KindCorrelation             // a correlation meta-rule
)

func (k Kind) String() string {
	switch k {
	case KindFilter:
		return "filter"
	case KindCorrelation:
		return "correlation"
	}
	return "rule"
}

// LogSource is a rule's logsource.
type LogSource struct {
	Product, Category, Service, Definition string
}

// String renders the logsource as product/category/service.
func (l LogSource) String() string {
	return strings.Join([]string{or(l.Product, "*"), or(l.Category, "*"), or(l.Service, "*")}, "/")
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Rule is one parsed Sigma document.
type Rule struct {
	Kind           Kind
	File           string // where it came from, for messages
	Line           int    // the document's first line
	ID             string
	Name           string // the optional name correlation rules refer to
	Title          string
	Status         string
	Level          string
	Description    string
	Author         string
	Date           string
	Modified       string
	License        string
	References     []string
	Tags           []string
	FalsePositives []string
	Fields         []string
	Related        []Related
	Taxonomy       string
	LogSource      LogSource
	Detection      *Detection   // detection rules and filters
	FilterRules    []string     // filters: ids or names of the rules filtered
	Correlation    *Correlation // correlation rules
	// Custom holds top-level attributes the specification does not define,
	// as text, for display.
	Custom map[string]string
}

// Ref returns how the rule is referred to in messages: its id, else its
// name, else its title.
func (r *Rule) Ref() string {
	switch {
	case r.ID != "":
		return r.ID
	case r.Name != "":
		return r.Name
	}
	return r.Title
}

// Related is an entry of a rule's related list.
type Related struct{ ID, Type string }

// Detection is the detection section of a rule or the filter section of a
// filter.
type Detection struct {
	// Searches in the order they appear.
	Searches []*Search
	// Conditions are joined with or; most rules have one.
	Conditions []*Cond
	// Timeframe is the deprecated Sigma 1 timeframe, kept for display.
	Timeframe string
}

// Search returns the search identifier called name, or nil.
func (d *Detection) Search(name string) *Search {
	for _, s := range d.Searches {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Search is a search identifier: a map of field predicates (and), a list of
// such maps (or), or a list of keywords.
type Search struct {
	Name string
	Pos  Pos
	// Any lists alternatives (or); each is a list of predicates (and). A
	// keyword list is one alternative holding one predicate with no field.
	Any [][]*Pred
}

// Pred is one field predicate: field|modifiers: values.
type Pred struct {
	Pos       Pos
	Field     string // "" for keywords
	Modifiers []string
	Values    []Value
}

// ValueKind is the YAML type of a value.
type ValueKind uint8

// The value kinds.
const (
	String ValueKind = iota
	Number
	Bool
	Null
)

// Value is one value of a predicate.
type Value struct {
	Pos  Pos
	Kind ValueKind
	Text string // as written (for numbers and booleans, YAML's text)
}

// Pos is a place in a rule file, 1-based; zero when unknown.
type Pos struct{ Line, Col int }

// Problem is something wrong with a rule: where and what. Msg is a message
// id of the i18n catalogue (sigma.*) and Args its named arguments, so the
// UI can show it in the reader's language; Error gives English text.
type Problem struct {
	File string
	Pos  Pos
	Rule string // the rule's id or title when known
	Msg  string
	Args []any
	// Unsupported marks a valid rule using something koban cannot
	// evaluate (for example a placeholder with no value), as opposed to a
	// malformed one.
	Unsupported bool
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
	}
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Pos.Line, p.Pos.Col)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(englishOf(p.Msg, p.Args))
	return b.String()
}

func problem(pos Pos, msg string, args ...any) *Problem {
	return &Problem{Pos: pos, Msg: msg, Args: args}
}
