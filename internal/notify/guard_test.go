// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestGuardCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr  string
		class class
	}{
		{"127.0.0.1", loopback},
		{"127.255.255.254", loopback},
		{"10.0.0.1", private},
		{"10.255.255.255", private},
		{"172.16.0.1", private},
		{"172.31.255.255", private},
		{"192.168.1.1", private},
		{"100.64.0.1", shared},
		{"100.127.255.255", shared},
		{"169.254.169.254", linkLocal},
		{"169.254.0.1", linkLocal},
		{"0.0.0.0", unspecified},
		{"0.1.2.3", unspecified},
		{"224.0.0.1", multicast},
		{"239.255.255.250", multicast},
		{"255.255.255.255", reserved},
		{"240.0.0.1", reserved},
		{"192.0.0.8", reserved},
		{"198.18.0.1", reserved},
		{"::1", loopback},
		{"::", unspecified},
		{"fc00::1", private},
		{"fd00:ec2::254", private}, // the AWS IPv6 metadata service
		{"fe80::1", linkLocal},
		{"fe80::1%eth0", linkLocal},
		{"fec0::1", private},
		{"ff02::1", multicast},
		{"::ffff:127.0.0.1", loopback},
		{"::ffff:10.0.0.1", private},
		{"::ffff:169.254.169.254", linkLocal},
		{"::ffff:100.64.1.1", shared},
		{"::127.0.0.1", reserved},         // IPv4-compatible, deprecated
		{"64:ff9b::a00:1", private},       // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", linkLocal}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", private},
		{"2002:a00:1::1", private},   // 6to4 of 10.0.0.1
		{"2002:7f00:1::1", loopback}, // 6to4 of 127.0.0.1
		{"100::1", reserved},
		// Public addresses, some just outside a refused range.
		{"8.8.8.8", public},
		{"1.1.1.1", public},
		{"100.63.255.255", public},
		{"100.128.0.0", public},
		{"172.15.255.255", public},
		{"172.32.0.0", public},
		{"169.253.255.255", public},
		{"192.169.0.1", public},
		{"2001:4860:4860::8888", public},
		{"64:ff9b::808:808", public}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", public},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if got, _ := classify(a); got != tt.class {
			t.Errorf("classify(%s) = %d, want %d", tt.addr, got, tt.class)
		}
		refused := tt.class != public
		err := Guard{}.Check(a)
		if (err != nil) != refused {
			t.Errorf("Guard{}.Check(%s) = %v, want refused %v", tt.addr, err, refused)
		}
		var re *RefusedError
		if refused && (!errors.As(err, &re) || re.Addr != a) {
			t.Errorf("Guard{}.Check(%s) = %#v, want a *RefusedError for %s", tt.addr, err, a)
		}
		internalOK := !refused || tt.class.internal()
		if err := (Guard{AllowInternal: true}).Check(a); (err == nil) != internalOK {
			t.Errorf("Guard{AllowInternal}.Check(%s) = %v, want allowed %v", tt.addr, err, internalOK)
		}
		// Listing the address itself always allows it; listing another
		// does not.
		bits := 32
		plainAddr := a.WithZone("").Unmap()
		if plainAddr.Is6() {
			bits = 128
		}
		own := Guard{Allow: []netip.Prefix{netip.PrefixFrom(plainAddr, bits)}}
		if err := own.Check(a); err != nil {
			t.Errorf("Guard{Allow: %s}.Check(%s) = %v, want nil", own.Allow[0], tt.addr, err)
		}
		other := Guard{Allow: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}
		if err := other.Check(a); (err == nil) != !refused {
			t.Errorf("Guard{Allow: 203.0.113.0/24}.Check(%s) = %v, want refused %v", tt.addr, err, refused)
		}
	}
}

func TestRefusedErrorSaysHowToAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		guard   Guard
		addr    string
		want    []string
		notWant []string
	}{
		{Guard{}, "10.0.0.5", []string{"10.0.0.5", "private", "RFC 1918", "notify.allow_internal", "notify.allow", `"10.0.0.5/32"`}, nil},
		{Guard{}, "169.254.169.254", []string{"169.254.169.254", "link-local", "metadata", "notify.allow", `"169.254.169.254/32"`}, []string{"allow_internal"}},
		{Guard{AllowInternal: true}, "169.254.169.254", []string{"notify.allow"}, []string{"allow_internal"}},
		{Guard{Setting: "intel"}, "::1", []string{"::1", "loopback", "intel.allow_internal", "intel.allow", `"::1/128"`}, []string{"notify."}},
		{Guard{}, "64:ff9b::a00:1", []string{"NAT64", "private"}, nil},
	}
	for _, tt := range tests {
		err := tt.guard.Check(netip.MustParseAddr(tt.addr))
		if err == nil {
			t.Fatalf("%+v.Check(%s) = nil, want a refusal", tt.guard, tt.addr)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v.Check(%s) = %q, want it to contain %q", tt.guard, tt.addr, err, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(err.Error(), w) {
				t.Errorf("%+v.Check(%s) = %q, want no %q", tt.guard, tt.addr, err, w)
			}
		}
	}
}

// TestGuardDial connects for real to a server on 127.0.0.1.
func TestGuardDial(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)

	tests := []struct {
		name  string
		guard Guard
		ok    bool
	}{
		{"zero guard", Guard{}, false},
		{"allow internal", Guard{AllowInternal: true}, true},
		{"allow 127.0.0.1/32", loopbackOnly, true},
		{"allow 127.0.0.0/8", Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, true},
		{"allow another prefix", Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, false},
	}
	for _, tt := range tests {
		before := hits.Load()
		resp, err := NewHTTPClient(tt.guard).Get(srv.URL)
		if resp != nil {
			resp.Body.Close()
		}
		if tt.ok {
			if err != nil {
				t.Errorf("%s: GET %s: %v, want success", tt.name, srv.URL, err)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) || re.Addr != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("%s: GET %s: error %v, want a *RefusedError for 127.0.0.1", tt.name, srv.URL, err)
		}
		if hits.Load() != before {
			t.Errorf("%s: the refused request reached the server", tt.name)
		}
	}
}

// TestGuardLocalhostName checks a name, not an address: localhost resolves
// to 127.0.0.1 and ::1, and both are refused.
func TestGuardLocalhostName(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	resp, err := NewHTTPClient(Guard{}).Get(u)
	if resp != nil {
		resp.Body.Close()
	}
	var re *RefusedError
	if !errors.As(err, &re) || !re.Addr.IsLoopback() {
		t.Fatalf("GET %s: error %v, want a *RefusedError for a loopback address", u, err)
	}
	if hits.Load() != 0 {
		t.Error("the refused request reached the server")
	}
}

// TestGuardResolvedAddress makes a public-looking name resolve to 10.1.2.3
// (through an in-process DNS server): the dial is refused on the resolved
// address, before any packet leaves.
func TestGuardResolvedAddress(t *testing.T) {
	t.Parallel()
	r := fakeDNS(t, netip.MustParseAddr("10.1.2.3"))
	c := newHTTPClient(Guard{}, nil, r)
	resp, err := c.Get("http://intranet.koban.test:8080/hook")
	if resp != nil {
		resp.Body.Close()
	}
	var re *RefusedError
	if !errors.As(err, &re) || re.Addr != netip.MustParseAddr("10.1.2.3") {
		t.Fatalf("GET http://intranet.koban.test:8080/hook: error %v, want a *RefusedError for 10.1.2.3", err)
	}
	if !strings.Contains(err.Error(), "notify.allow_internal") {
		t.Errorf("error %q does not say how to allow the address", err)
	}
}

func TestGuardOnlyTCP(t *testing.T) {
	t.Parallel()
	if err := (Guard{AllowInternal: true}).control("udp4", "8.8.8.8:53", nil); err == nil {
		t.Error(`control("udp4", "8.8.8.8:53") = nil, want a refusal: only TCP is dialled`)
	}
	if err := (Guard{}).control("tcp4", "8.8.8.8:443", nil); err != nil {
		t.Errorf(`control("tcp4", "8.8.8.8:443") = %v, want nil`, err)
	}
}

func TestNoRedirects(t *testing.T) {
	t.Parallel()
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	resp, err := NewHTTPClient(loopbackOnly).Get(srv.URL + "/a")
	if err != nil {
		t.Fatalf("GET /a: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed.Load() != 0 {
		t.Errorf("GET /a: status %d, /b requested %d times; want 302 and 0", resp.StatusCode, followed.Load())
	}
}
