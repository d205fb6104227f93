// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"strings"
	"testing"
)

// TestFirstLineKindValue: a list whose first line is "kind,value,note"
// data is not read as a CSV header naming kinds.
func TestFirstLineKindValue(t *testing.T) {
	list, errs := Load(strings.NewReader("ip,203.0.113.7,known C2\ndomain,evil.example\n"), "iocs.txt")
	if len(errs) > 0 || len(list) != 2 || list[0].Kind != KindIP || list[1].Kind != KindDomain || list[0].Note != "known C2" {
		t.Fatalf("list %+v, errors %v", list, errs)
	}
	// A header of kind names is still one.
	list, errs = Load(strings.NewReader("ip,domain\n203.0.113.8,bad.example\n"), "cols.csv")
	if len(errs) > 0 || len(list) != 2 {
		t.Fatalf("list %+v, errors %v", list, errs)
	}
}

// TestNormalizeIdempotent: inputs that once needed two passes give their
// final form at once.
func TestNormalizeIdempotent(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		raw  string
	}{{KindURL, "0.A/ #"}, {KindDomain, "evil[[.]]example"}, {KindURL, "hxxp://evil[[.]]example/a"}} {
		v, err := Normalize(tc.kind, tc.raw)
		if err != nil {
			continue
		}
		again, err := Normalize(tc.kind, v)
		if err != nil || again != v {
			t.Errorf("Normalize(%s, %q) = %q, then %q (%v)", tc.kind, tc.raw, v, again, err)
		}
	}
}
