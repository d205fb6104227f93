// SPDX-License-Identifier: Apache-2.0

// Package search is the query model over stored events: a tree of field
// predicates (Expr), the time range and paging around it (Query), the query
// box language people type (Parse), and the Store interface that event store
// adapters (eventstore/duckdb, later ClickHouse) implement and the web UI,
// hunting and retro-hunt use.
package search
