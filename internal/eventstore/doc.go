// SPDX-License-Identifier: Apache-2.0

// Package eventstore defines the event store: where normalised events are
// kept for search, hunting, timelines and retro-hunts (DESIGN.md §5). Store
// is the interface that the embedded DuckDB adapter (eventstore/duckdb)
// implements and a ClickHouse adapter will implement later; app wires one
// in, the journal's store consumer calls Insert, and the web UI, hunting and
// retro-hunt query it through search.Store.
//
// Storage is idempotent: Insert records the journal position after a batch
// in the same transaction as the batch, and the consumer resumes from
// Checkpoint after a restart, so at-least-once delivery from the journal
// never stores a batch twice. The only delete is Retain dropping whole days.
//
// This package holds types only; it must never import an adapter.
package eventstore
