// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

type playbookPos struct{ line, col int }

// playbookEntry is one element of a playbook's YAML: a mapping entry or a
// sequence item.
type playbookEntry struct {
	path string
	key  playbookPos // the key's position; the item's for a sequence item
	val  playbookPos // the value's position
	coll bool        // the value is a mapping or a sequence
}

// playbookIndex says where each element of a playbook's YAML is, under the
// path validation uses ("phases[1].tasks[0].title.ja").
type playbookIndex struct {
	byPath  map[string]*playbookEntry // first occurrence of each path
	entries []*playbookEntry          // every element, duplicates included, in document order
}

// newPlaybookIndex indexes a YAML document. Aliases are not followed: an
// alias keeps the position of its use.
func newPlaybookIndex(doc *yaml.Node) *playbookIndex {
	ix := &playbookIndex{byPath: map[string]*playbookEntry{}}
	ix.walk(doc, "")
	return ix
}

func (ix *playbookIndex) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + p
			}
			ix.add(p, k, v)
			ix.walk(v, p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			ix.add(p, c, c)
			ix.walk(c, p)
		}
	}
}

func (ix *playbookIndex) add(path string, key, val *yaml.Node) {
	e := &playbookEntry{path: path, key: playbookPos{key.Line, key.Column}, val: playbookPos{val.Line, val.Column},
		coll: val.Kind == yaml.MappingNode || val.Kind == yaml.SequenceNode}
	ix.entries = append(ix.entries, e)
	if _, seen := ix.byPath[path]; !seen {
		ix.byPath[path] = e
	}
}

// at returns where a problem about path is shown: at a scalar's value; at
// the key of a mapping or list (a list's value starts on the line after its
// key); at the key of the nearest ancestor for a missing element.
func (ix *playbookIndex) at(path string) playbookPos {
	if ix == nil {
		return playbookPos{}
	}
	if e, ok := ix.byPath[path]; ok {
		if e.coll {
			return e.key
		}
		return e.val
	}
	for {
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return playbookPos{}
		}
		path = path[:i]
		if e, ok := ix.byPath[path]; ok {
			return e.key
		}
	}
}

// onLine returns the element a YAML error on line is about, for errors that
// know only a line: the element whose key is named key, else the leftmost
// element starting on that line.
func (ix *playbookIndex) onLine(line int, key string) *playbookEntry {
	if ix == nil {
		return nil
	}
	var best *playbookEntry
	for _, e := range ix.entries {
		if e.key.line != line {
			continue
		}
		if key != "" && (e.path == key || strings.HasSuffix(e.path, "."+key)) {
			return e
		}
		if best == nil || e.key.col < best.key.col {
			best = e
		}
	}
	return best
}

var (
	playbookYAMLLineRE      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	playbookYAMLUnknownRE   = regexp.MustCompile(`^field (\S+) not found in type`)
	playbookYAMLDuplicateRE = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	playbookYAMLTypeRE      = regexp.MustCompile(`^cannot unmarshal !!\w+(?: .*)? into (\S+)$`)
	// The YAML parser (not its scanner) reports the 0-based line of the
	// construct it was in; these are its messages.
	playbookYAMLParserRE = regexp.MustCompile(`^did not find expected (<document start>|node content|key|'-' indicator|',' or '\]'|',' or '\}')$`)
)

// playbookYAMLProblems turns an error of the YAML library into problems
// with lines, and plain words for what the library says in Go terms.
func playbookYAMLProblems(file string, err error, ix *playbookIndex) PlaybookProblems {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	var ps PlaybookProblems
	for _, l := range lines {
		p := &PlaybookProblem{File: file, Msg: "playbook.yaml", Args: []any{"reason", strings.TrimPrefix(l, "yaml: ")}}
		m := playbookYAMLLineRE.FindStringSubmatch(l)
		if m == nil {
			ps = append(ps, p)
			continue
		}
		what := m[2]
		p.Line, _ = strconv.Atoi(m[1])
		p.Col = 1
		p.Args = []any{"reason", what}
		if playbookYAMLParserRE.MatchString(what) {
			p.Line++
		}
		key := ""
		switch {
		case playbookYAMLUnknownRE.MatchString(what):
			key = playbookYAMLUnknownRE.FindStringSubmatch(what)[1]
			p.Msg, p.Args = "playbook.unknown_key", []any{"key", key}
		case playbookYAMLDuplicateRE.MatchString(what):
			d := playbookYAMLDuplicateRE.FindStringSubmatch(what)
			key = d[1]
			p.Msg, p.Args = "playbook.duplicate_key", []any{"key", d[1], "first", d[2]}
		case playbookYAMLTypeRE.MatchString(what):
			p.Msg, p.Args = playbookWantMessage(playbookYAMLTypeRE.FindStringSubmatch(what)[1]), nil
		}
		if e := ix.onLine(p.Line, key); e != nil {
			p.Path, p.Col = e.path, e.key.col
			if key == "" && !e.coll {
				p.Col = e.val.col
			}
		}
		ps = append(ps, p)
	}
	return ps
}

// playbookWantMessage names what a Go type expects, in a playbook author's words.
func playbookWantMessage(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "playbook.want_list"
	case goType == "string":
		return "playbook.want_text"
	case goType == "int":
		return "playbook.want_number"
	case goType == "bool":
		return "playbook.want_bool"
	}
	return "playbook.want_map"
}
