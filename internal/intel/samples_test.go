// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake/file"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// collect is an event.Sink that normalises events and keeps copies.
type collect struct {
	n      *normalize.Normalizer
	events []event.Event
}

func (c *collect) Append(_ context.Context, events []event.Event) error {
	for i := range events {
		e := events[i]
		e.Fields = append([]event.Field(nil), e.Fields...)
		c.n.Event(&e)
		c.events = append(c.events, e)
	}
	return nil
}

// importEvents reads a shared sample file as koban's import does and
// returns its events, normalised.
func importEvents(tb testing.TB, rel string) []event.Event {
	tb.Helper()
	c := &collect{n: normalize.New()}
	if _, err := file.Import(context.Background(), shareddata.Path(tb, rel), c, file.Options{}); err != nil {
		tb.Fatalf("import %s: %v", rel, err)
	}
	if len(c.events) == 0 {
		tb.Fatalf("import %s: no events", rel)
	}
	return c.events
}

// indicatorsIn returns the indicators a field of kind k holding v stands
// for, worked out with Normalize rather than the matcher's own splitting.
func indicatorsIn(k Kind, v string) []Indicator {
	var parts []string
	if strings.HasPrefix(v, "[") && json.Unmarshal([]byte(v), &parts) == nil {
		k = KindDomain // each entry on its own
	}
	switch k {
	case KindHosts:
		parts = strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(",; \t|", r) })
	case KindHashes:
		for _, p := range strings.Split(v, ",") {
			if alg, h, ok := strings.Cut(p, "="); ok && !strings.EqualFold(alg, "imphash") {
				parts = append(parts, h)
			}
		}
	default:
		if parts == nil {
			parts = []string{v}
		}
	}
	var out []Indicator
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if host, port, ok := cutPort(p); ok && k != KindURL {
			_ = port // the port is not part of the indicator
			p = host
		}
		guessed, err := Guess(p)
		if err != nil || guessed == KindCIDR || (k == KindURL && guessed != KindURL) {
			continue
		}
		if val, err := Normalize(guessed, p); err == nil {
			out = append(out, Indicator{Kind: guessed, Value: val})
		}
	}
	return out
}

// cutPort splits "1.2.3.4:80" and "[::1]:80" the way a person would.
func cutPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		if h, p, found := strings.Cut(s[1:], "]:"); found {
			return h, p, true
		}
		return strings.Trim(s, "[]"), "", true
	}
	if strings.Count(s, ":") == 1 {
		return strings.Cut(s, ":")
	}
	return s, "", false
}

// TestRealEvents imports real Windows, Zeek and Suricata samples through
// intake and the normaliser and lists, as indicators, the values of the
// fields DefaultFieldKinds names. MatchEvent must find every one of them in
// the event it came from, and the samples must carry the fields each
// source is known to have, so that a renamed field in the normaliser
// shows up here.
func TestRealEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rel    string
		fields []string // must each carry an indicator at least once
	}{
		{"evtx-attack-samples/Command and Control/tunna_iis_rdp_smb_tunneling_sysmon_3.evtx", []string{"SourceIp", "DestinationIp"}},
		{"evtx-attack-samples/Privilege Escalation/Sysmon_UACME_64.evtx", []string{"Hashes", "md5", "sha256"}},
		{"evtx-to-mitre-attack/TA0001-Initial access/T1078-Valid accounts/ID4625-failed login with denied access due to account restriction.evtx", []string{"IpAddress"}},
		{"zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_dns.log", []string{"id.orig_h", "id.resp_h", "query", "answers"}},
		{"zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_http.log", []string{"id.resp_h", "host"}},
		{"zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_files.log", []string{"md5", "sha1", "tx_hosts"}},
		{"zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/NASHUA_ssl.log", []string{"server_name"}},
		{"zeek-wrccdc-2018/zeek-json/smtp.json.gz", []string{"mailfrom"}},
		{"suricata-eve/surevego/testdata/eve.json", []string{"src_ip", "dest_ip", "dns.rrname", "dns.rdata", "http.hostname"}},
		{"suricata-eve/elastic-integrations/test-eve-small.log", []string{"src_ip", "dest_ip", "tls.sni", "http.url"}},
	}
	fk := DefaultFieldKinds()
	for _, tc := range tests {
		t.Run(tc.rel, func(t *testing.T) {
			t.Parallel()
			events := importEvents(t, tc.rel)
			type want struct {
				ev  int
				ind Indicator
			}
			var wants []want
			var list []Indicator
			carried := map[string]int{} // field name → indicators in it
			for i := range events {
				for _, f := range events[i].Fields {
					if k, ok := fk[f.Name()]; ok {
						for _, ind := range indicatorsIn(k, f.Value) {
							wants = append(wants, want{i, ind})
							list = append(list, ind)
							carried[f.Name()]++
						}
					}
				}
			}
			s, errs := NewSet(list)
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			hitFields := map[string]int{}
			found := make([]map[Indicator]bool, len(events))
			for i := range events {
				found[i] = map[Indicator]bool{}
				s.MatchEvent(&events[i], func(h Hit) {
					found[i][Indicator{Kind: h.Indicator.Kind, Value: h.Indicator.Value}] = true
					hitFields[h.Field]++
				})
			}
			missed := 0
			for _, w := range wants {
				if !found[w.ev][w.ind] {
					if missed++; missed <= 10 {
						t.Errorf("event %d: %s %q is in a field but MatchEvent did not find it", w.ev, w.ind.Kind, w.ind.Value)
					}
				}
			}
			// An indicator is reported once per event, for the first field
			// that has it, so a field can carry indicators without hits.
			for _, f := range tc.fields {
				if carried[f] == 0 {
					t.Errorf("no indicator in field %s in %d events (fields with indicators: %v)", f, len(events), carried)
				}
			}
			t.Logf("%d events, %d indicators, hits by field: %v; unmapped fields that hold addresses: %v",
				len(events), s.Len(), hitFields, unmappedAddressFields(events, fk))
		})
	}
}

// unmappedAddressFields names fields that DefaultFieldKinds leaves out but
// whose values are IP addresses, to help keep the list complete.
func unmappedAddressFields(events []event.Event, fk FieldKinds) []string {
	seen := map[string]bool{}
	for i := range events {
		for _, f := range events[i].Fields {
			if _, ok := fk[f.Name()]; ok || seen[f.Name()] {
				continue
			}
			if k, err := Guess(f.Value); err == nil && k == KindIP && strings.ContainsAny(f.Value, ".:") {
				seen[f.Name()] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
