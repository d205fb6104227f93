// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
)

// loadBenchList returns about 120,000 indicators: MISP warning lists of
// public DNS resolvers (addresses and ranges), dynamic DNS domains and AWS
// ranges, read with Load as a list file would be, plus 10,000 URLs and
// 10,000 SHA-256 hashes made up so that every structure is in use.
func loadBenchList(b *testing.B) []Indicator {
	var list []Indicator
	for _, name := range []string{"public-dns-v4", "public-dns-v6", "dynamic-dns", "amazon-aws"} {
		entries, _ := warningList(b, name)
		l, _ := Load(strings.NewReader(strings.Join(entries, "\n")), name)
		list = append(list, l...)
	}
	for i := range 10000 {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		list = append(list,
			Indicator{Kind: KindURL, Value: "http://dl" + strconv.Itoa(i) + ".example/" + hex.EncodeToString(sum[:4]) + ".exe"},
			Indicator{Kind: KindSHA256, Value: hex.EncodeToString(sum[:])})
	}
	return list
}

// firstEvent returns the first event of a sample that has field name.
func firstEvent(b *testing.B, rel, name string) *event.Event {
	for _, e := range importEvents(b, rel) {
		if _, ok := e.Lookup(name); ok {
			return &e
		}
	}
	b.Fatalf("%s has no event with %s", rel, name)
	return nil
}

// BenchmarkMatchEvent matches real events against ~120k indicators. The
// Sysmon network connection (event 3) is the common case: its addresses
// and host names are checked and nothing matches. The hit cases add the
// event's own destination to the list.
func BenchmarkMatchEvent(b *testing.B) {
	list := loadBenchList(b)
	set, errs := NewSet(list)
	if len(errs) > 0 {
		b.Fatal(errs[0])
	}
	net := firstEvent(b, "evtx-attack-samples/Command and Control/tunna_iis_rdp_smb_tunneling_sysmon_3.evtx", "DestinationIp")
	dst, _ := net.Lookup("DestinationIp")
	hitSet, _ := NewSet(append(list[:len(list):len(list)], Indicator{Kind: KindIP, Value: dst}))
	proc := firstEvent(b, "evtx-attack-samples/Privilege Escalation/Sysmon_UACME_64.evtx", "Hashes")
	dns := firstEvent(b, "zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs/SCRANTON_dns.log", "answers")
	http := firstEvent(b, "suricata-eve/elastic-integrations/test-eve-small.log", "http.url")
	b.Logf("%d indicators (%d ip, %d cidr, %d domain, %d url, %d sha256)", set.Len(), set.Count(KindIP),
		set.Count(KindCIDR), set.Count(KindDomain), set.Count(KindURL), set.Count(KindSHA256))
	cases := []struct {
		name string
		set  *Set
		ev   *event.Event
	}{
		{"sysmon-network/miss", set, net},
		{"sysmon-network/hit", hitSet, net},
		{"sysmon-process/miss", set, proc},
		{"zeek-dns/miss", set, dns},
		{"suricata-http/miss", set, http},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			fn := func(Hit) { n++ }
			b.ReportAllocs()
			for b.Loop() {
				c.set.MatchEvent(c.ev, fn)
			}
			b.ReportMetric(float64(n)/float64(b.N), "hits/op")
		})
	}
}

// BenchmarkNewSet measures building the ~120k list, as a reload does.
func BenchmarkNewSet(b *testing.B) {
	list := loadBenchList(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, errs := NewSet(list); len(errs) > 0 {
			b.Fatal(errs[0])
		}
	}
}
