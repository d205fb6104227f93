// SPDX-License-Identifier: Apache-2.0

package sigma

import (
	"strings"
	"testing"
)

func TestAnchors(t *testing.T) {
	mimikatz := []string{"dpapi::masterkey", "eo.oe.kiwi", "event::clear", "gentilkiwi.com", "kerberos::ptt", "mimikatz", "sekurlsa::"}
	a := anchorsFor(mimikatz)
	if a == nil {
		t.Fatal("no anchors for the Mimikatz keywords")
	}
	for _, p := range mimikatz {
		if !mayMatch(a, p) || !mayMatch(a, strings.ToUpper(p)) || !mayMatch(a, "x "+p+" y") {
			t.Errorf("anchors %q miss pattern %q", a, p)
		}
	}
	if mayMatch(a, "C:\\Windows\\System32\\svchost.exe -p 1234") && !strings.ContainsAny("C:\\Windows\\System32\\svchost.exe -p 1234", string(a)) {
		t.Error("mayMatch without an anchor byte")
	}
	// Common bytes only: no anchors worth having.
	if a := anchorsFor([]string{"e0", "-1", "s 2"}); a != nil {
		t.Errorf("anchors %q for patterns of common bytes", a)
	}
}
