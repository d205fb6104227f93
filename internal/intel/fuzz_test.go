// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// realValues returns indicator texts from the shared data: entries of MISP
// warning lists and attributes of MISP events, a few of each.
func realValues(tb testing.TB) []string {
	var out []string
	for _, name := range []string{"public-dns-v4", "public-dns-v6", "amazon-aws", "dynamic-dns", "url-shortener",
		"empty-hashes", "common-contact-emails", "second-level-tlds", "ipv6-linklocal"} {
		entries, _ := warningList(tb, name)
		for i := 0; i < len(entries); i += max(1, len(entries)/8) {
			out = append(out, entries[i])
		}
	}
	for _, rel := range []string{"misp/PyMISP/tests/reportlab_testfiles/to_delete1.json", "misp/PyMISP/tests/reportlab_testfiles/sighting_1.json"} {
		b, err := os.ReadFile(shareddata.Path(tb, rel))
		if err != nil {
			tb.Fatal(err)
		}
		var doc struct {
			Event struct {
				Attribute []struct{ Type, Value string }
			}
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			tb.Fatal(err)
		}
		for _, a := range doc.Event.Attribute {
			out = append(out, a.Value)
		}
	}
	return out
}

func FuzzNormalize(f *testing.F) {
	for _, v := range realValues(f) {
		f.Add(v)
	}
	for _, v := range []string{"hxxps[:]//evil[.]example:443/a%2f?x#y", "例え。テスト", "::ffff:10.0.0.1/104", "0.0.0.0/0",
		"a[@]b(.)example", "mailto:<x@y.example>", "http://[::1%25eth0]:80/", "[dot][at][:]", "ＥＸＡＭＰＬＥ．ｃｏｍ", "xn--.example"} {
		f.Add(v)
	}
	kinds := append([]Kind{KindHosts, "bogus"}, Kinds...)
	f.Fuzz(func(t *testing.T, raw string) {
		if k, err := Guess(raw); err == nil && !k.Valid() {
			t.Errorf("Guess(%q) = %q, no indicator kind", raw, k)
		}
		for _, k := range kinds {
			v, err := Normalize(k, raw)
			if err != nil {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Kind != fault.Invalid || !strings.HasPrefix(fe.Msg, "intel.") {
					t.Errorf("Normalize(%s, %q) error %v is no intel.* Invalid fault", k, raw, err)
				}
				continue
			}
			again, err := Normalize(k, v)
			if err != nil || again != v {
				t.Fatalf("Normalize(%s, %q) = %q, which normalises to %q, %v", k, raw, v, again, err)
			}
			checkSelfMatch(t, k, v)
		}
	})
}

// checkSelfMatch fails unless a set holding indicator k,v finds it in the
// value an event would carry.
func checkSelfMatch(t *testing.T, k Kind, v string) {
	s, errs := NewSet([]Indicator{{Kind: k, Value: v}})
	if len(errs) > 0 {
		t.Fatalf("NewSet(%s %q): %v", k, v, errs)
	}
	field, probe := k, v
	switch k {
	case KindCIDR:
		field, probe = KindIP, netip.MustParsePrefix(v).Addr().String()
	case KindIP:
		if a := netip.MustParseAddr(v); a.Is6() {
			probe = "[" + v + "]:443"
		}
	}
	found := false
	s.MatchValue(field, probe, func(h Hit) { found = found || h.Indicator.Value == v })
	if !found {
		t.Errorf("indicator %s %q is not found in a %s field holding %q", k, v, field, probe)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("# list\n192.0.2.1\nhxxp://evil[.]example/x\ndomain,evil.example,note\nsha1,da39a3ee5e6b4b0d3255bfef95601890afd80709\n")
	f.Add("kind,value,note,expires\nip,192.0.2.1,\"a, b\",2026-12-31\n,evil.example,,\nip,\"x\ny\",,\n")
	f.Add("md5, sha1, sha256\n644087ccca16d2a728ef7685a4106f09, eabd6974ac71efd72d9e0688d5a6131f336d169c, 385e31c97e3a07bbb81513f0cd0979e64e6b014943902efd002f57b21eadd41e\n")
	f.Add("uuid,event_id,category,type,value,comment,to_ids,date\n1,1,x,ip-dst,192.0.2.1,\"multi\nline\",1,0\n1,1,x,filename,a.exe,,1,0\n")
	f.Add("\ufeffvalue\r\n\"unterminated\r\n")
	f.Add(strings.Join(realValues(f), "\n"))
	f.Fuzz(func(t *testing.T, in string) {
		list, errs := Load(strings.NewReader(in), "fuzz")
		lines := strings.Count(in, "\n") + 1
		if cells := lines + strings.Count(in, ","); len(list) > cells {
			t.Errorf("Load made %d indicators of %d cells", len(list), cells)
		}
		for _, err := range errs {
			var le *LineError
			if errors.As(err, &le) && (le.Line < 1 || le.Line > lines) {
				t.Errorf("error %v names line %d of %d", err, le.Line, lines)
			}
		}
		for _, ind := range list {
			if v, err := Normalize(ind.Kind, ind.Value); err != nil || v != ind.Value {
				t.Errorf("Load kept %s %q, which is not canonical (%q, %v)", ind.Kind, ind.Value, v, err)
			}
		}
		if _, errs := NewSet(list); len(errs) > 0 {
			t.Errorf("NewSet of Load's indicators: %v", errs)
		}
	})
}
