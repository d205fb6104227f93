// SPDX-License-Identifier: Apache-2.0

// Package storetest is the conformance suite of the state store: every case
// runs against each dialect (SQLite and PostgreSQL), so that one query text
// behaves the same on both. store's own tests call Run once per dialect; the
// leaf tests are named TestConformance/<dialect>/<case>, which `make test`
// counts. OpenSQLite, OpenPostgres and Dialects also serve other packages'
// tests that must hold on both databases.
package storetest
