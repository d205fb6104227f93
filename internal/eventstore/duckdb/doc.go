// SPDX-License-Identifier: Apache-2.0

// Package duckdb is the embedded event store: eventstore.Store on a DuckDB
// database file in one directory (DESIGN.md §5).
//
// Layout. Events are partitioned by UTC day of their time into tables
// events_YYYYMMDD; a query reads only the days its range touches (UNION ALL
// over them), and retention drops whole tables, oldest first, by age and by
// size. Each table has fixed columns for the event's own parts (id, time,
// received, tenant, source, host, product, category, service, flags,
// reason, raw, raw_bin), one VARCHAR column per field in Options.Columns
// (the fields people and rules query most), and a MAP(VARCHAR, VARCHAR)
// column "fields" for every other field. A substring filter on a typed column
// is several times faster than on the map. Column names are sanitised field
// names; the field → column mapping is kept in the table koban_columns, so
// that changing Options.Columns later leaves older days readable: each day
// is queried with the columns it was created with.
//
// Raw bytes that are valid UTF-8 are kept in raw; otherwise raw holds them
// with invalid bytes replaced (for text search) and raw_bin the bytes as
// received. Event.Fields come back from the store with typed columns first,
// in table order, then the map's fields in input order.
//
// Idempotence. Insert appends a batch with DuckDB's appender (a query
// appender, so that the long-tail fields arrive as two lists that DuckDB
// turns into the MAP; the driver's own MAP path is slower) and records the
// journal checkpoint in the same transaction. It also skips events whose id
// is among the last Options.Dedup ids it stored (within the batch too); after
// a restart that memory is refilled from the newest events of the two newest
// days. An id repeated further apart than that is stored twice.
//
// Queries. search.Expr compiles to parameterised SQL: values and map keys
// are always parameters; identifiers come only from the known column list.
// String comparisons ignore case: equality through lower(), contains,
// prefix and suffix through RE2's (?i) on the quoted literal (faster than
// lowering every value), wildcards through lower() LIKE; all of it is
// skipped when the value has no letters with case. Regex uses
// regexp_matches (RE2, checked in Go first);
// CIDR uses koban_ip, a scalar function registered by Open that maps an IPv4
// or IPv6 text to 16 comparable bytes; numeric comparisons use TRY_CAST to
// DOUBLE. Histograms bucket the BIGINT nanosecond time by integer division.
// Every query is confined to events whose tenant equals the query's Tenant
// ("" for a single-tenant install), and runs under ctx: cancelling it
// interrupts DuckDB. Search reads the keys (time, id) of a page newest day
// first and stops when the page is full, then reads those events' rows.
//
// It never deletes single events, never builds SQL from values, and never
// loads DuckDB extensions from the network. Only internal/app imports it.
package duckdb
