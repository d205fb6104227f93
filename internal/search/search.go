// SPDX-License-Identifier: Apache-2.0

package search

import (
	"context"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// Op is how a predicate compares a field with its value. String comparisons
// ignore case, as Sigma's do.
type Op int

// The operators.
const (
	Eq       Op = iota // whole value equals
	Contains           // value contains
	Prefix             // value starts with
	Suffix             // value ends with
	Wildcard           // glob: * any run, ? one character
	Regex              // RE2 regular expression, case-sensitive unless (?i)
	Exists             // the field is present (Value unused)
	CIDR               // the value is an IP address inside the prefix in Value
	Gt                 // numeric comparisons
	Gte
	Lt
	Lte
)

// Expr is a node of a query: And, Or, Not, Pred or Text.
type Expr interface{ expr() }

// And holds when all its parts hold.
type And []Expr

// Or holds when any of its parts holds.
type Or []Expr

// Not holds when its part does not.
type Not struct{ X Expr }

// Pred compares one field. Field is a name as Sigma or ECS spells it
// ("CommandLine", "process.command_line") or one of the event's own columns:
// "host", "source", "tenant", "product", "category", "service", "flags",
// "id", "raw".
type Pred struct {
	Field string
	Op    Op
	Value string
}

// Text holds when the raw event contains the value, ignoring case: what a
// bare word or quoted phrase in the query box means.
type Text struct{ Value string }

func (And) expr()  {}
func (Or) expr()   {}
func (Not) expr()  {}
func (Pred) expr() {}
func (Text) expr() {}

// Query selects events: within [From, To) and matching Where (nil: all).
type Query struct {
	Tenant string // "" for the single-tenant install
	From   time.Time
	To     time.Time
	Where  Expr
	// Paging, newest first. After, when set, continues after the last event
	// of the previous page (keyset paging, stable while events arrive).
	Limit int
	After *Cursor
}

// Cursor marks a position in newest-first order.
type Cursor struct {
	Time int64
	ID   event.ID
}

// Page is one page of results.
type Page struct {
	Events []event.Event
	Next   *Cursor // nil on the last page
}

// Bucket is one bar of a histogram.
type Bucket struct {
	Start time.Time
	Count int64
}

// Value is a field value and how many events have it.
type Value struct {
	Value string
	Count int64
}

// Group is one row of a count-by: the values of the grouped fields, in the
// order asked, and the count.
type Group struct {
	Values []string
	Count  int64
}

// Store answers queries over stored events. Adapters implement it; every
// method honours ctx's deadline.
type Store interface {
	// Search returns up to q.Limit events, newest first.
	Search(ctx context.Context, q Query) (Page, error)
	// Count returns how many events match.
	Count(ctx context.Context, q Query) (int64, error)
	// Histogram splits [From, To) into buckets of width step and counts
	// matching events in each, empty buckets included.
	Histogram(ctx context.Context, q Query, step time.Duration) ([]Bucket, error)
	// Top returns the n most common values of field among matching events,
	// or the n least common when rare is set.
	Top(ctx context.Context, q Query, field string, n int, rare bool) ([]Value, error)
	// CountBy counts matching events by the values of fields, largest
	// groups first, at most limit groups.
	CountBy(ctx context.Context, q Query, fields []string, limit int) ([]Group, error)
	// Get returns one event by id.
	Get(ctx context.Context, tenant string, id event.ID) (event.Event, error)
}
