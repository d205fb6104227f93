// SPDX-License-Identifier: Apache-2.0

package i18n

import (
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Lang is a supported language, stored as-is in user settings.
type Lang string

// The supported languages.
const (
	English  Lang = "en"
	Japanese Lang = "ja"
)

// Langs lists the supported languages, default first.
var Langs = []Lang{English, Japanese}

// Valid reports whether l is a supported language.
func (l Lang) Valid() bool { return l == English || l == Japanese }

var matcher = language.NewMatcher([]language.Tag{language.English, language.Japanese})

// Match picks the supported language best matching an Accept-Language header,
// English when nothing matches.
func Match(acceptLanguage string) Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	return Langs[idx]
}

//go:embed messages/*.yaml
var files embed.FS

// part is a piece of a message: literal text, or an argument name when arg
// is set.
type part struct {
	text string
	arg  bool
}

type message struct {
	other []part
	one   []part // nil when the message has no plural forms
}

// Catalog holds every message of every supported language.
type Catalog struct {
	msgs map[Lang]map[string]message
}

// Load parses the embedded message files. Each language has a main file,
// messages/<lang>.yaml, and may have one file per area,
// messages/<area>.<lang>.yaml, so that parts of koban keep their messages
// apart; a message id defined in two files of one language is an error.
func Load() (*Catalog, error) {
	c := &Catalog{msgs: make(map[Lang]map[string]message)}
	entries, err := files.ReadDir("messages")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	for _, l := range Langs {
		all := make(map[string]message)
		found := false
		for _, e := range entries {
			name := e.Name()
			if name != string(l)+".yaml" && !strings.HasSuffix(name, "."+string(l)+".yaml") {
				continue
			}
			found = true
			b, err := files.ReadFile("messages/" + name)
			if err != nil {
				return nil, fmt.Errorf("i18n: %w", err)
			}
			m, err := parse(b)
			if err != nil {
				return nil, fmt.Errorf("i18n: messages/%s: %w", name, err)
			}
			for k, v := range m {
				if _, dup := all[k]; dup {
					return nil, fmt.Errorf("i18n: messages/%s: %s is defined in another %s file too", name, k, l)
				}
				all[k] = v
			}
		}
		if !found {
			return nil, fmt.Errorf("i18n: no message file for %s", l)
		}
		c.msgs[l] = all
	}
	return c, nil
}

func parse(b []byte) (map[string]message, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	out := make(map[string]message)
	if len(root.Content) == 0 {
		return out, nil
	}
	if err := flatten(root.Content[0], "", out); err != nil {
		return nil, err
	}
	return out, nil
}

func flatten(n *yaml.Node, prefix string, out map[string]message) error {
	switch n.Kind {
	case yaml.ScalarNode:
		out[prefix] = message{other: compile(n.Value)}
		return nil
	case yaml.MappingNode:
		if isPlural(n) {
			var m message
			for i := 0; i < len(n.Content); i += 2 {
				switch n.Content[i].Value {
				case "one":
					m.one = compile(n.Content[i+1].Value)
				case "other":
					m.other = compile(n.Content[i+1].Value)
				}
			}
			if m.other == nil {
				return fmt.Errorf("line %d: %s: plural message needs an \"other\" form", n.Line, prefix)
			}
			out[prefix] = m
			return nil
		}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			if _, dup := out[k]; dup {
				return fmt.Errorf("line %d: %s defined twice", n.Content[i].Line, k)
			}
			if err := flatten(n.Content[i+1], k, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("line %d: %s: a message must be text or a mapping", n.Line, prefix)
}

func isPlural(n *yaml.Node) bool {
	if len(n.Content) == 0 {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if (k != "one" && k != "other") || n.Content[i+1].Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

// compile splits "Hello {name}" into literal and argument parts. "{{" is a
// literal brace.
func compile(s string) []part {
	var ps []part
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '{' && i+1 < len(s) && s[i+1] == '{' {
			lit.WriteByte('{')
			i++
			continue
		}
		if c == '{' {
			if end := strings.IndexByte(s[i:], '}'); end > 1 {
				if lit.Len() > 0 {
					ps = append(ps, part{text: lit.String()})
					lit.Reset()
				}
				ps = append(ps, part{text: s[i+1 : i+end], arg: true})
				i += end
				continue
			}
		}
		lit.WriteByte(c)
	}
	if lit.Len() > 0 || len(ps) == 0 {
		ps = append(ps, part{text: lit.String()})
	}
	return ps
}

// T returns message id in language l with args (name, value pairs) filled in.
// A message missing in l falls back to English; a message missing everywhere
// comes back as "[id]" so that tests and screens show the gap.
func (c *Catalog) T(l Lang, id string, args ...any) string {
	m, ok := c.msgs[l][id]
	if !ok {
		if m, ok = c.msgs[English][id]; !ok {
			return "[" + id + "]"
		}
	}
	parts := m.other
	if m.one != nil && count(args) == 1 {
		parts = m.one
	}
	if len(parts) == 1 && !parts[0].arg {
		return parts[0].text
	}
	var b strings.Builder
	for _, p := range parts {
		if !p.arg {
			b.WriteString(p.text)
			continue
		}
		v, ok := lookup(args, p.text)
		if !ok {
			b.WriteString("{" + p.text + "}")
			continue
		}
		fmt.Fprint(&b, v)
	}
	return b.String()
}

// Has reports whether id exists in language l.
func (c *Catalog) Has(l Lang, id string) bool {
	_, ok := c.msgs[l][id]
	return ok
}

// Keys returns the message ids of language l, sorted.
func (c *Catalog) Keys(l Lang) []string {
	ks := make([]string, 0, len(c.msgs[l]))
	for k := range c.msgs[l] {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Args returns the argument names message id uses in language l, sorted.
func (c *Catalog) Args(l Lang, id string) []string {
	m := c.msgs[l][id]
	seen := map[string]bool{}
	for _, ps := range [][]part{m.one, m.other} {
		for _, p := range ps {
			if p.arg {
				seen[p.text] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lookup(args []any, name string) (any, bool) {
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok && k == name {
			return args[i+1], true
		}
	}
	return nil, false
}

func count(args []any) int64 {
	v, ok := lookup(args, "count")
	if !ok {
		return -1
	}
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		if err == nil {
			return i
		}
	}
	return -1
}
