// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"go.yaml.in/yaml/v3"
)

// Mapping says which other event fields a rule field stands for, per rule
// logsource: the field mapping pipelines of issue 4. Mapping adds names; a
// mapped predicate still reads the rule's own field name too, so a mapping
// can never hide a field the normaliser already provides.
type Mapping struct {
	Entries []MapEntry
}

// MapEntry maps fields for rules whose logsource has every part Match names.
type MapEntry struct {
	Match  LogSource
	Fields map[string][]string
}

func (m *Mapping) targets(ls LogSource, field string) []string {
	var out []string
	for _, e := range m.Entries {
		if e.Match.Product != "" && e.Match.Product != ls.Product ||
			e.Match.Category != "" && e.Match.Category != ls.Category ||
			e.Match.Service != "" && e.Match.Service != ls.Service {
			continue
		}
		out = append(out, e.Fields[field]...)
	}
	return out
}

// ParseMapping reads a mapping file in koban's form:
//
//	mappings:
//	  - logsource: {product: windows, category: process_creation}
//	    fields:
//	      Image: [NewProcessName]
//
// or in the form of SigmaHQ's tests/thor.yml (logsources: name: category,
// product, service, fieldmappings), whose fieldmappings apply to rules with
// that entry's category, product and service.
func ParseMapping(file string, data []byte) (*Mapping, []*Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, []*Problem{yamlProblem(file, err)}
	}
	m := &Mapping{}
	d := &docParser{}
	if len(root.Content) == 0 {
		return m, nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		d.fail(doc, "sigma.not_a_map")
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "mappings":
			if v.Kind != yaml.SequenceNode {
				d.fail(v, "sigma.want_list", "key", "mappings")
				continue
			}
			for _, e := range v.Content {
				m.Entries = append(m.Entries, d.mapEntry(e, "logsource", "fields"))
			}
		case "logsources":
			if v.Kind != yaml.MappingNode {
				d.fail(v, "sigma.want_map", "key", "logsources")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				e := d.mapEntry(v.Content[j+1], "", "fieldmappings")
				if len(e.Fields) > 0 {
					m.Entries = append(m.Entries, e)
				}
			}
		}
	}
	for _, p := range d.probs {
		p.File = file
	}
	return m, d.probs
}

func (d *docParser) mapEntry(n *yaml.Node, lsKey, fieldsKey string) MapEntry {
	e := MapEntry{Fields: map[string][]string{}}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "sigma.want_map", "key", "mappings")
		return e
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case lsKey != "" && k.Value == lsKey:
			e.Match = d.logsource(v)
		case lsKey == "" && k.Value == "category":
			e.Match.Category = d.str(v, "category")
		case lsKey == "" && k.Value == "product":
			e.Match.Product = d.str(v, "product")
		case lsKey == "" && k.Value == "service":
			e.Match.Service = d.str(v, "service")
		case k.Value == fieldsKey:
			if v.Kind != yaml.MappingNode {
				d.fail(v, "sigma.want_map", "key", fieldsKey)
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				e.Fields[v.Content[j].Value] = d.strs(v.Content[j+1], fieldsKey)
			}
		}
	}
	return e
}
