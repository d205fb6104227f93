// SPDX-License-Identifier: Apache-2.0

package rulepack

import (
	"embed"
	"io/fs"
	"slices"
)

//go:embed rules/*.yml
var files embed.FS

// FS returns the rule pack: the .yml files at its root, read-only.
func FS() fs.FS {
	sub, err := fs.Sub(files, "rules")
	if err != nil {
		// fs.Sub fails only on an invalid path; "rules" is a constant.
		panic(err)
	}
	return sub
}

// Files returns the names of the rule files in FS, sorted.
func Files() []string {
	ents, err := fs.ReadDir(files, "rules")
	if err != nil {
		return nil // the directory is embedded, so it is always there
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		if !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}
