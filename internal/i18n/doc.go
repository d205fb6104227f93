// SPDX-License-Identifier: Apache-2.0

// Package i18n holds koban's message catalogue in English and Japanese and
// picks a language for a request. Messages live in embedded YAML files, one per
// language, with identical keys (a test enforces it); a message may name
// arguments as {name} and may have plural forms (one, other) chosen by the
// "count" argument.
//
// The package is a leaf: the web UI, the CLI and notification senders all use
// it; it must never import another koban package or read files at run time.
package i18n
