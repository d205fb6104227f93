// SPDX-License-Identifier: Apache-2.0

// Package app wires koban together: configuration → state store → domain
// services → web server, and runs the subcommands (serve, user, migrate,
// config, audit, backup, healthcheck, version). It is the only package that
// imports adapters (store, web); cmd/koban only handles signals and the exit
// code.
//
// Messages to the person at the terminal are written to the streams in Env;
// the operator log goes through log/slog. Secrets are never logged.
package app
