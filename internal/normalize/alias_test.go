// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/shareddata"
)

func TestCanonical(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		want  string
		alias bool
		all   []string
	}{
		{"process.command_line", "CommandLine", true, []string{"CommandLine"}},
		{"process.executable", "Image", true, []string{"Image", "ProcessName", "exe"}},
		{"process.parent.executable", "ParentImage", true, []string{"ParentImage"}},
		{"user.name", "User", true, []string{"User", "TargetUserName", "SubjectUserName", "cs-username"}},
		{"source.ip", "SourceIp", true, []string{"SourceIp", "IpAddress", "id.orig_h", "src_ip", "c-ip"}},
		{"destination.port", "DestinationPort", true, []string{"DestinationPort", "id.resp_p", "dest_port", "dst_port"}},
		{"dns.question.name", "QueryName", true, []string{"QueryName", "query", "dns.rrname"}},
		{"file.path", "TargetFilename", true, []string{"TargetFilename", "name"}},
		{"registry.path", "TargetObject", true, []string{"TargetObject"}},
		{"process.hash.sha256", "sha256", true, []string{"sha256"}},
		{"winlog.event_data.CommandLine", "CommandLine", true, []string{"CommandLine"}},
		{"winlog.channel", "Channel", true, []string{"Channel"}},
		{"NewProcessName", "Image", true, []string{"Image"}},
		{"id_orig_h", "id.orig_h", true, []string{"id.orig_h"}},
		{"cs(User-Agent)", "cs-user-agent", true, []string{"cs-user-agent"}},
		{"srcip", "src_ip", true, []string{"src_ip"}},
		// Canonical names and names no table knows are not aliases.
		{"CommandLine", "CommandLine", false, nil},
		{"query", "query", false, nil},
		{"winlog.event_data.", "winlog.event_data.", false, nil},
		// Local renames are not offered globally: these are canonical
		// elsewhere (Defender's SourceName, Zeek's version).
		{"SourceName", "SourceName", false, nil},
		{"version", "version", false, nil},
		{"ProcessName", "ProcessName", false, nil},
	}
	for _, tt := range tests {
		got, ok := Canonical(tt.in)
		if got != tt.want || ok != tt.alias {
			t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.alias)
		}
		if diff := cmp.Diff(tt.all, Canonicals(tt.in)); diff != "" {
			t.Errorf("Canonicals(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestAliases(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"CommandLine": {"process.command_line"},
		"Image":       {"process.executable", "NewProcessName"},
		"SourceIp":    {"source.ip"},
		"sha256":      {"hash.sha256", "process.hash.sha256", "file.hash.sha256", "dll.hash.sha256", "fileinfo.sha256"},
		"c-uri":       {"url.original"},
		"Hashes":      nil,
	}
	for canonical, want := range tests {
		if diff := cmp.Diff(want, Aliases(canonical)); diff != "" {
			t.Errorf("Aliases(%q) (-want +got):\n%s", canonical, diff)
		}
	}
	// Every alias maps back to its canonical name.
	for _, tb := range tables {
		if tb.local {
			continue
		}
		for _, p := range tb.pairs {
			if !slices.Contains(Canonicals(p.alias), p.canonical) {
				t.Errorf("%s: Canonicals(%q) = %v lacks %q", tb.kind, p.alias, Canonicals(p.alias), p.canonical)
			}
			if !slices.Contains(Aliases(p.canonical), p.alias) {
				t.Errorf("%s: Aliases(%q) = %v lacks %q", tb.kind, p.canonical, Aliases(p.canonical), p.alias)
			}
		}
	}
	// The result is the caller's.
	a := Aliases("CommandLine")
	a[0] = "x"
	if Aliases("CommandLine")[0] != "process.command_line" {
		t.Error("Aliases returns the table's own slice")
	}
}

// TestNoAliasShadowsCanonical checks that no name Canonical maps away is a
// field name some source keeps: a canonical name of any table, a common
// field, or a name SigmaHQ's tests/logsource.json lists as legitimate for
// some logsource. Otherwise a query on that field would be sent elsewhere.
func TestNoAliasShadowsCanonical(t *testing.T) {
	t.Parallel()
	canonical := map[string]string{}
	for _, tb := range tables {
		for _, p := range tb.pairs {
			canonical[p.canonical] = "table " + tb.kind
		}
	}
	for _, f := range CommonFields() {
		canonical[f] = "CommonFields"
	}
	b, err := os.ReadFile(shareddata.Path(t, "sigma/tests/logsource.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ls struct {
		Legit map[string]struct {
			Common   []string            `json:"common"`
			Category map[string][]string `json:"category"`
			Service  map[string][]string `json:"service"`
		} `json:"legit"`
	}
	if err := json.Unmarshal(b, &ls); err != nil {
		t.Fatal(err)
	}
	for product, p := range ls.Legit {
		for _, f := range p.Common {
			canonical[f] = "logsource.json " + product
		}
		for c, fs := range p.Category {
			for _, f := range fs {
				canonical[f] = "logsource.json " + product + "/" + c
			}
		}
		for s, fs := range p.Service {
			for _, f := range fs {
				canonical[f] = "logsource.json " + product + "/" + s
			}
		}
	}
	for alias := range canonicalsOf {
		if where, ok := canonical[alias]; ok {
			t.Errorf("alias %q is a canonical field name (%s)", alias, where)
		}
	}
}
