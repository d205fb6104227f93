// SPDX-License-Identifier: Apache-2.0

// Package detect is the pipeline stage that runs compiled rules, IOC
// matching and baselines over the event stream and emits detections
// (DESIGN.md §4).
//
// Rule loading lives here too: LoadRules reads Sigma rules from files,
// directories, zip archives (SigmaHQ's release zips) and embedded file
// systems (koban's own pack), keeping where each rule came from, and Select
// applies the operator's policy (statuses, minimum level, disabled ids and
// tags) before the rules are compiled with package sigma. Reading a zip is
// safe against hostile archives: entries that would land outside the pack
// are refused, sizes are bounded, symbolic links are ignored.
//
// The package never reads configuration or the environment (app passes it
// what it needs), never writes files, and never starts goroutines. Its
// callers are internal/app: "koban serve", "koban scan" and "koban rules".
package detect
