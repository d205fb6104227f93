// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Secret is a string that must never be printed or logged: its String,
// LogValue and YAML forms are a placeholder. Use Reveal where the value is
// really needed.
type Secret string

const masked = "********"

// String returns a placeholder.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// LogValue returns a placeholder, so that slog never prints the secret.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString returns a placeholder, so that %#v does not print the secret.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalYAML writes a placeholder; config dump uses it.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// Duration is a time.Duration written as "30m", "12h" in files and variables.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration as Go does ("30m0s").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses a duration such as "90s" or "12h".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		// A *yaml.TypeError lets the decoder go on and report the file's
		// other problems too.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func parseDuration(s string) (Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n < 100_000 {
			return Duration(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use a number with a unit, such as 30m, 12h or 90d)", s)
	}
	return Duration(v), nil
}
