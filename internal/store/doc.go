// SPDX-License-Identifier: Apache-2.0

// Package store is koban's state store: one database/sql implementation for
// embedded SQLite (modernc.org/sqlite, WAL) and PostgreSQL (pgx), with goose
// migrations embedded per dialect. It implements the Store interfaces that
// domain packages declare (auth.Store, …) and appends audit entries in the
// same transaction as the change they describe.
//
// It holds no business rules: validation, authorisation and state changes
// live in the domain packages. Queries are written once with ? placeholders;
// the few dialect differences live in dialect.go. Times are stored as BIGINT
// microseconds since the Unix epoch (docs/adr/0003). Only internal/app
// imports it; its conformance suite is store/storetest.
package store
