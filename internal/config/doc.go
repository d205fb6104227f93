// SPDX-License-Identifier: Apache-2.0

// Package config owns koban's typed configuration: Default returns the values
// a fresh install runs with, Load applies an optional YAML file, then KOBAN_*
// environment variables (and *_FILE variants for secrets), then command-line
// flags, and Validate reports every problem at once.
//
// Only internal/app calls Load; every other package receives its own section
// as a value and never reads the environment or files itself.
package config
