// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
)

// mustSet builds a set from kind, value pairs and fails on any error.
func mustSet(t testing.TB, opts []Option, kv ...string) *Set {
	t.Helper()
	var list []Indicator
	for i := 0; i+1 < len(kv); i += 2 {
		list = append(list, Indicator{Kind: Kind(kv[i]), Value: kv[i+1], Source: "test"})
	}
	s, errs := NewSet(list, opts...)
	if len(errs) > 0 {
		t.Fatalf("NewSet: %v", errs)
	}
	return s
}

// values returns the indicator values MatchValue finds for v read as kind k.
func values(s *Set, k Kind, v string) []string {
	var got []string
	s.MatchValue(k, v, func(h Hit) { got = append(got, h.Indicator.Value) })
	return got
}

func TestDomainSuffix(t *testing.T) {
	t.Parallel()
	s := mustSet(t, nil, "domain", "evil.example", "domain", "b.evil.example", "domain", "xn--r8jz45g.xn--zckzah",
		"domain", "co.jp.example")
	tests := []struct {
		in   string
		want []string
	}{
		{"evil.example", []string{"evil.example"}},
		{"EVIL.Example.", []string{"evil.example"}},
		{"a.evil.example", []string{"evil.example"}},
		{"a.b.evil.example", []string{"b.evil.example", "evil.example"}},
		{"notevil.example", nil},
		{"evil.example.net", nil},
		{"evilexample", nil},
		{"example", nil},
		{"vil.example", nil},
		{"www.例え.テスト", []string{"xn--r8jz45g.xn--zckzah"}},
		{"www.xn--r8jz45g.xn--zckzah", []string{"xn--r8jz45g.xn--zckzah"}},
		{"evil.example:8080", []string{"evil.example"}},
		{"jp.example", nil},
		{"", nil},
		{".", nil},
		{"..evil.example", []string{"evil.example"}},
	}
	for _, tc := range tests {
		if got := values(s, KindDomain, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("MatchValue(domain, %q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddresses(t *testing.T) {
	t.Parallel()
	s := mustSet(t, nil,
		"ip", "192.0.2.1", "ip", "2001:db8::1",
		"cidr", "10.0.0.0/8", "cidr", "10.1.0.0/16", "cidr", "10.1.2.0/24", "cidr", "10.1.2.3/32",
		"cidr", "172.16.0.0/12", "cidr", "2001:db8:1::/48", "cidr", "2001:db8:1:2::/64", "cidr", "2001:db8:1:2::5/128",
	)
	tests := []struct {
		in   string
		want []string
	}{
		{"192.0.2.1", []string{"192.0.2.1"}},
		{"192.0.2.1:443", []string{"192.0.2.1"}},
		{"::ffff:192.0.2.1", []string{"192.0.2.1"}},
		{"[::ffff:192.0.2.1]:80", []string{"192.0.2.1"}},
		{"192.0.2.2", nil},
		{"2001:DB8::1", []string{"2001:db8::1"}},
		{"[2001:db8::1]:8443", []string{"2001:db8::1"}},
		{"fe80::1%eth0", nil},
		{"10.1.2.3", []string{"10.1.2.3/32", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"}},
		{"10.1.2.4", []string{"10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"}},
		{"10.1.3.0", []string{"10.1.0.0/16", "10.0.0.0/8"}},
		{"10.0.0.0", []string{"10.0.0.0/8"}},
		{"10.255.255.255", []string{"10.0.0.0/8"}},
		{"11.0.0.0", nil},
		{"9.255.255.255", nil},
		{"172.31.255.255", []string{"172.16.0.0/12"}},
		{"172.32.0.0", nil},
		{"::ffff:10.1.2.9", []string{"10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"}},
		{"2001:db8:1:2::5", []string{"2001:db8:1:2::5/128", "2001:db8:1:2::/64", "2001:db8:1::/48"}},
		{"2001:db8:1:3::", []string{"2001:db8:1::/48"}},
		{"2001:db8:2::", nil},
		{"::a01:203", nil}, // 10.1.2.3 as IPv4-compatible IPv6 is not IPv4
		{"not-an-address", nil},
	}
	for _, tc := range tests {
		if got := values(s, KindIP, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("MatchValue(ip, %q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCIDREdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cidrs []string
		in    string
		want  []string
	}{
		{"v4 /0 covers all", []string{"0.0.0.0/0"}, "255.255.255.255", []string{"0.0.0.0/0"}},
		{"v4 /0 first", []string{"0.0.0.0/0"}, "0.0.0.0", []string{"0.0.0.0/0"}},
		{"v4 /0 not v6", []string{"0.0.0.0/0"}, "2001:db8::1", nil},
		{"v6 /0 covers all v6", []string{"::/0"}, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"::/0"}},
		{"v6 /0 not v4", []string{"::/0"}, "192.0.2.1", nil},
		{"v6 /0 with nested last", []string{"::/0", "ffff::/16"}, "ffff::1", []string{"ffff::/16", "::/0"}},
		{"v6 /0 with nested last, after", []string{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"},
			"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "::/0"}},
		{"v4 /32 exact", []string{"198.51.100.7/32"}, "198.51.100.7", []string{"198.51.100.7/32"}},
		{"v4 /32 neighbour", []string{"198.51.100.7/32"}, "198.51.100.8", nil},
		{"v4 last /32", []string{"255.255.255.255/32", "0.0.0.0/0"}, "255.255.255.255", []string{"255.255.255.255/32", "0.0.0.0/0"}},
		{"v6 /128 exact", []string{"2001:db8::7/128"}, "2001:db8::7", []string{"2001:db8::7/128"}},
		{"v6 /128 neighbour", []string{"2001:db8::7/128"}, "2001:db8::6", nil},
		{"same start nested", []string{"10.0.0.0/24", "10.0.0.0/8", "10.0.0.0/16"}, "10.0.0.1",
			[]string{"10.0.0.0/24", "10.0.0.0/16", "10.0.0.0/8"}},
		{"parent after child end", []string{"10.0.0.0/8", "10.0.0.0/24"}, "10.0.1.0", []string{"10.0.0.0/8"}},
		{"same end nested", []string{"10.255.255.0/24", "10.0.0.0/8"}, "10.255.255.255", []string{"10.255.255.0/24", "10.0.0.0/8"}},
		{"adjacent", []string{"10.0.0.0/25", "10.0.0.128/25"}, "10.0.0.128", []string{"10.0.0.128/25"}},
		{"v4-mapped cidr", []string{"::ffff:192.0.2.0/120"}, "192.0.2.200", []string{"192.0.2.0/24"}},
		{"v4-mapped event", []string{"192.0.2.0/24"}, "::ffff:192.0.2.200", []string{"192.0.2.0/24"}},
		{"duplicate written two ways", []string{"192.0.2.0/24", "192.0.2.99/24"}, "192.0.2.1", []string{"192.0.2.0/24"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var kv []string
			for _, c := range tc.cidrs {
				kv = append(kv, "cidr", c)
			}
			s := mustSet(t, nil, kv...)
			if got := values(s, KindIP, tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("MatchValue(ip, %q) over %q = %q, want %q", tc.in, tc.cidrs, got, tc.want)
			}
		})
	}
}

// TestRangesAgainstScan compares the segment table with a plain scan of
// every range, for random nested and disjoint ranges of both families.
func TestRangesAgainstScan(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var list []Indicator
		var prefixes []netip.Prefix
		v6 := round%2 == 1
		for range 1 + rng.IntN(60) {
			var a netip.Addr
			var bits int
			if v6 {
				var b [16]byte
				b[0], b[1], b[2] = 0x20, 0x01, byte(rng.IntN(4)) // keep them close, so they nest
				b[3], b[15] = byte(rng.IntN(256)), byte(rng.IntN(256))
				a = netip.AddrFrom16(b)
				bits = 8 + rng.IntN(121)
			} else {
				a = netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
				bits = 6 + rng.IntN(27)
			}
			p := netip.PrefixFrom(a, bits).Masked()
			prefixes = append(prefixes, p)
			list = append(list, Indicator{Kind: KindCIDR, Value: p.String()})
		}
		s, errs := NewSet(list)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		for range 300 {
			// Probe near range edges as often as at random.
			p := prefixes[rng.IntN(len(prefixes))]
			first, last := prefixRange(p)
			probe := []u128{first, last, first.dec(), func() u128 { x, _ := last.inc(); return x }()}[rng.IntN(4)]
			a := numAddr(probe, v6)
			var want []string
			for _, q := range prefixes {
				if q.Contains(a) && !slices.Contains(want, q.String()) {
					want = append(want, q.String())
				}
			}
			got := values(s, KindIP, a.String())
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: MatchValue(ip, %s) = %q, want %q (ranges %v)", round, a, got, want, prefixes)
			}
		}
	}
}

// numAddr turns a number back into an address of the family.
func numAddr(n u128, v6 bool) netip.Addr {
	if !v6 {
		v := uint32(n.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := range 8 {
		b[i] = byte(n.hi >> (56 - 8*i))
		b[8+i] = byte(n.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b)
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	list := []Indicator{
		{Kind: KindIP, Value: "192.0.2.1", Expires: now.Add(time.Hour)},
		{Kind: KindIP, Value: "192.0.2.2", Expires: now},
		{Kind: KindIP, Value: "192.0.2.3", Expires: now.Add(-time.Second)},
		{Kind: KindIP, Value: "192.0.2.4"},
		{Kind: KindCIDR, Value: "198.51.100.0/24", Expires: now.Add(-time.Hour)},
		{Kind: KindDomain, Value: "old.example", Expires: now.Add(-time.Hour)},
		// The same indicator twice: the one that expires last wins.
		{Kind: KindDomain, Value: "twice.example", Expires: now.Add(-time.Hour), Note: "old"},
		{Kind: KindDomain, Value: "TWICE.example", Expires: now.Add(time.Hour), Note: "new"},
		{Kind: KindDomain, Value: "never.example"},
		{Kind: KindDomain, Value: "never.example", Expires: now.Add(-time.Hour)},
	}
	s, errs := NewSet(list, WithClock(clock))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s.Len() != 8 {
		t.Errorf("Len() = %d, want 8 (duplicates merged)", s.Len())
	}
	for in, want := range map[string]bool{
		"192.0.2.1": true, "192.0.2.2": false, "192.0.2.3": false, "192.0.2.4": true, "198.51.100.1": false,
		"old.example": false, "twice.example": true, "never.example": true,
	} {
		got := len(values(s, KindDomain, in)) > 0
		if got != want {
			t.Errorf("at %v, MatchValue(%q) matched = %v, want %v", now, in, got, want)
		}
	}
	var note string
	s.MatchValue(KindDomain, "twice.example", func(h Hit) { note = h.Indicator.Note })
	if note != "new" {
		t.Errorf("duplicate kept note %q, want the later-expiring one's, new", note)
	}
	now = now.Add(2 * time.Hour)
	if got := values(s, KindIP, "192.0.2.1"); got != nil {
		t.Errorf("two hours later, 192.0.2.1 still matches: %q", got)
	}
}

func TestNewSetErrors(t *testing.T) {
	t.Parallel()
	list := []Indicator{
		{Kind: KindIP, Value: "192.0.2.1"},
		{Kind: KindIP, Value: "not-an-ip", Source: "feed-a"},
		{Kind: "yara", Value: "rule x {}", Source: "feed-b"},
		{Kind: KindHosts, Value: "evil.example"},
		{Kind: KindDomain, Value: "hxxp://evil[.]example/"},
	}
	s, errs := NewSet(list, WithFieldKinds(FieldKinds{"DestinationIp": KindIP, "Weird": "bogus"}))
	if s.Len() != 1 {
		t.Errorf("Len() = %d, want 1", s.Len())
	}
	want := []string{"intel.bad_ip", "intel.unknown_kind", "intel.unknown_kind", "intel.domain_bad_char", "intel.unknown_kind"}
	var got []string
	for _, err := range errs {
		got = append(got, checkMessage(t, err).Msg)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewSet errors (-want +got):\n%s\n%v", diff, errs)
	}
	if len(errs) > 1 {
		if msg := errs[0].Error(); msg != `intel: indicator 2 (ip "not-an-ip" from "feed-a"): invalid: intel.bad_ip[value not-an-ip]` {
			t.Errorf("first error = %q, want the entry's number, kind, value and source", msg)
		}
	}
}

func TestEmptyAndNil(t *testing.T) {
	t.Parallel()
	ev := &event.Event{}
	ev.Add("DestinationIp", "192.0.2.1")
	fail := func(h Hit) { t.Errorf("unexpected hit %+v", h) }
	var nilSet *Set
	nilSet.MatchEvent(ev, fail)
	nilSet.MatchValue(KindIP, "192.0.2.1", fail)
	empty, _ := NewSet(nil)
	empty.MatchEvent(ev, fail)
	var l Live
	l.MatchEvent(ev, fail)
	l.Replace(nil)
	l.MatchEvent(ev, fail)
	if nilSet.Len() != 0 || nilSet.Count(KindIP) != 0 || nilSet.Indicators() != nil || l.Set() != nil {
		t.Error("a nil set or an empty Live is not empty")
	}
}

// TestConcurrentReplace matches while another goroutine swaps sets: every
// match must see one whole set (run it with -race).
func TestConcurrentReplace(t *testing.T) {
	t.Parallel()
	a := mustSet(t, nil, "ip", "192.0.2.1", "domain", "a.example")
	b := mustSet(t, nil, "ip", "192.0.2.2", "domain", "b.example")
	live := NewLive(a)
	ev := &event.Event{}
	ev.Add("DestinationIp", "192.0.2.1")
	ev.Add("SourceIp", "192.0.2.2")
	ev.Add("QueryName", "x.b.example")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				live.Replace(b)
			} else {
				live.Replace(a)
			}
		}
	}()
	errs := make(chan string, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				var got []string
				live.MatchEvent(ev, func(h Hit) { got = append(got, h.Field+"="+h.Indicator.Value) })
				ok := slices.Equal(got, []string{"DestinationIp=192.0.2.1"}) ||
					slices.Equal(got, []string{"SourceIp=192.0.2.2", "QueryName=b.example"})
				if !ok {
					errs <- fmt.Sprintf("a match saw %q: not one whole set", got)
					return
				}
			}
		}()
	}
	go func() { time.Sleep(10 * time.Millisecond); close(stop) }()
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
