// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"strings"
	"testing"
)

// FuzzRenamePlaybook checks the id rewrite of a copy: it never panics, and
// a valid playbook stays valid with only its id changed.
func FuzzRenamePlaybook(f *testing.F) {
	lib, err := Library()
	if err != nil {
		f.Fatal(err)
	}
	for _, pb := range lib {
		b, _ := PlaybookSource(pb.ID)
		f.Add(string(b))
	}
	f.Add("{id: x, version: 1}")
	f.Add("id: 'quoted' # comment\n")
	f.Add("\"id\": x\n")
	f.Fuzz(func(t *testing.T, src string) {
		line, col := playbookIDLine(src)
		if (line == 0) != (col == 0) || line > strings.Count(src, "\n")+1 {
			t.Fatalf("playbookIDLine = %d, %d", line, col)
		}
		out, err := renamePlaybook(src, "fuzz-copy")
		if err != nil {
			return
		}
		orig, err := ParsePlaybook("", []byte(src))
		if err != nil {
			return
		}
		pb, err := ParsePlaybook("", []byte(out))
		if err != nil {
			t.Fatalf("a valid playbook became invalid when renamed: %v", err)
		}
		if pb.ID != "fuzz-copy" || pb.Title["en"] != orig.Title["en"] || len(pb.Phases) != len(orig.Phases) {
			t.Fatalf("renamed playbook: id %q, title %q (was %q)", pb.ID, pb.Title["en"], orig.Title["en"])
		}
	})
}

func TestRenamePlaybookFlowStyle(t *testing.T) {
	out, err := renamePlaybook("{id: old, version: 1}", "new")
	if err != nil || !strings.Contains(out, "id: new") || strings.Contains(out, "old") {
		t.Errorf("renamePlaybook(flow style) = %q, %v", out, err)
	}
	if _, err := renamePlaybook("[1, 2]", "new"); err == nil {
		t.Error("renamePlaybook(a list) succeeded")
	}
	if _, err := renamePlaybook("title: x", "new"); err == nil {
		t.Error("renamePlaybook(no id) succeeded")
	}
}
