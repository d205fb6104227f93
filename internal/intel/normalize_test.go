// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"errors"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// checkMessage fails unless err is an Invalid fault whose message exists in
// every language and whose arguments cover the ones the message names.
func checkMessage(t *testing.T, err error) *fault.Error {
	t.Helper()
	var f *fault.Error
	if !errors.As(err, &f) {
		t.Fatalf("error %v is no fault", err)
	}
	if f.Kind != fault.Invalid {
		t.Errorf("fault %v has kind %s, want invalid", f, f.Kind)
	}
	cat, cerr := i18n.Load()
	if cerr != nil {
		t.Fatal(cerr)
	}
	for _, l := range i18n.Langs {
		if !cat.Has(l, f.Msg) {
			t.Errorf("message %s is missing in %s", f.Msg, l)
		}
		for _, a := range cat.Args(l, f.Msg) {
			found := false
			for i := 0; i+1 < len(f.Args); i += 2 {
				found = found || f.Args[i] == a
			}
			if !found {
				t.Errorf("message %s (%s) uses {%s}, which the fault %v lacks", f.Msg, l, a, f)
			}
		}
	}
	return f
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind Kind
		in   string
		want string
	}{
		{"ipv4", KindIP, " 192.0.2.1 ", "192.0.2.1"},
		{"ipv4 defanged", KindIP, "192.0.2[.]1", "192.0.2.1"},
		{"ipv4 defanged parens", KindIP, "192(.)0(.)2(.)1", "192.0.2.1"},
		{"ipv6 compressed", KindIP, "2001:DB8:0:0::1", "2001:db8::1"},
		{"ipv4-mapped ipv6 is ipv4", KindIP, "::ffff:192.0.2.1", "192.0.2.1"},
		{"ipv6 defanged colons", KindIP, "2001[:]db8[:][:]1", "2001:db8::1"},
		{"cidr masked", KindCIDR, "10.1.2.3/8", "10.0.0.0/8"},
		{"cidr /32 from address", KindCIDR, "198.51.100.7", "198.51.100.7/32"},
		{"cidr /128 from address", KindCIDR, "2001:db8::7", "2001:db8::7/128"},
		{"cidr /0", KindCIDR, "0.0.0.0/0", "0.0.0.0/0"},
		{"cidr v6 /0", KindCIDR, "::/0", "::/0"},
		{"cidr v6 masked", KindCIDR, "2001:db8:ffff::1/32", "2001:db8::/32"},
		{"cidr v4-mapped", KindCIDR, "::ffff:10.9.8.7/104", "10.0.0.0/8"},
		{"cidr v4-mapped all", KindCIDR, "::ffff:0:0/96", "0.0.0.0/0"},
		{"cidr defanged", KindCIDR, "203.0.113[.]0/24", "203.0.113.0/24"},
		{"domain lower", KindDomain, "Evil.Example.COM", "evil.example.com"},
		{"domain trailing dot", KindDomain, "evil.example.", "evil.example"},
		{"domain wildcard", KindDomain, "*.evil.example", "evil.example"},
		{"domain leading dot", KindDomain, ".evil.example", "evil.example"},
		{"domain defanged", KindDomain, "evil[.]example[.]com", "evil.example.com"},
		{"domain defanged dot word", KindDomain, "evil[dot]example(DOT)com", "evil.example.com"},
		{"domain backslash dot", KindDomain, `evil\.example`, "evil.example"},
		{"domain underscore", KindDomain, "_dmarc.evil.example", "_dmarc.evil.example"},
		{"domain zero-width space", KindDomain, "\u200bevil.example\ufeff", "evil.example"},
		{"idn german", KindDomain, "Bücher.example", "xn--bcher-kva.example"},
		{"idn japanese", KindDomain, "例え.テスト", "xn--r8jz45g.xn--zckzah"},
		{"idn ideographic full stop", KindDomain, "例え。テスト", "xn--r8jz45g.xn--zckzah"},
		{"idn full-width ascii", KindDomain, "ＥＸＡＭＰＬＥ．ｃｏｍ", "example.com"},
		{"idn already punycode", KindDomain, "XN--R8JZ45G.xn--zckzah", "xn--r8jz45g.xn--zckzah"},
		{"url lower scheme host", KindURL, "HTTP://Evil.Example/Path/X?Q=1", "http://evil.example/Path/X?Q=1"},
		{"url default port", KindURL, "https://evil.example:443/a", "https://evil.example/a"},
		{"url other port kept", KindURL, "https://evil.example:8443/a", "https://evil.example:8443/a"},
		{"url http default port", KindURL, "http://evil.example:80", "http://evil.example/"},
		{"url fragment dropped", KindURL, "http://evil.example/a#frag", "http://evil.example/a"},
		{"url empty path", KindURL, "http://evil.example", "http://evil.example/"},
		{"url empty query dropped", KindURL, "http://evil.example/a?", "http://evil.example/a"},
		{"url hxxp", KindURL, "hxxp://evil[.]example/x", "http://evil.example/x"},
		{"url hxxps bracket colon", KindURL, "hXXps[:]//evil[.]example/x", "https://evil.example/x"},
		{"url bracket scheme sep", KindURL, "http[://]evil.example/x", "http://evil.example/x"},
		{"url fxp", KindURL, "fxp://files.evil.example/a", "ftp://files.evil.example/a"},
		{"url no scheme", KindURL, "evil.example/payload.exe", "http://evil.example/payload.exe"},
		{"url percent hex upper", KindURL, "http://evil.example/a%2fb?x=%e3%81%82", "http://evil.example/a%2Fb?x=%E3%81%82"},
		{"url ipv6 host", KindURL, "http://[2001:DB8::0001]:8080/x", "http://[2001:db8::1]:8080/x"},
		{"url ipv4 host", KindURL, "http://192.0.2.1/x", "http://192.0.2.1/x"},
		{"url userinfo kept", KindURL, "http://bank.example@Evil.Example/", "http://bank.example@evil.example/"},
		{"url idn host", KindURL, "http://例え.テスト/パス", "http://xn--r8jz45g.xn--zckzah/パス"},
		{"url trailing dot host", KindURL, "http://evil.example./", "http://evil.example/"},
		{"md5 upper", KindMD5, "D41D8CD98F00B204E9800998ECF8427E", "d41d8cd98f00b204e9800998ecf8427e"},
		{"sha1", KindSHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"sha256", KindSHA256, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"email lower", KindEmail, "Attacker@Evil.Example", "attacker@evil.example"},
		{"email defanged", KindEmail, "attacker[@]evil[.]example", "attacker@evil.example"},
		{"email at word", KindEmail, "attacker[at]evil[dot]example", "attacker@evil.example"},
		{"email mailto", KindEmail, "mailto:a.b+c@evil.example", "a.b+c@evil.example"},
		{"email angle", KindEmail, "<a@evil.example>", "a@evil.example"},
		{"email idn", KindEmail, "info@例え.テスト", "info@xn--r8jz45g.xn--zckzah"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.kind, tc.in)
			if err != nil {
				t.Fatalf("Normalize(%s, %q): %v", tc.kind, tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Normalize(%s, %q) = %q, want %q", tc.kind, tc.in, got, tc.want)
			}
			again, err := Normalize(tc.kind, got)
			if err != nil || again != got {
				t.Errorf("Normalize(%s, %q) (its own output) = %q, %v; want it unchanged", tc.kind, got, again, err)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind Kind
		in   string
		msg  string
	}{
		{"empty", KindIP, "  ", "intel.empty"},
		{"too long", KindURL, "http://a.example/" + strings.Repeat("a", MaxValueLen), "intel.too_long"},
		{"not utf-8", KindDomain, "evil\xff.example", "intel.invalid_text"},
		{"unknown kind", Kind("yara"), "x", "intel.unknown_kind"},
		{"field-only kind", KindHosts, "evil.example", "intel.unknown_kind"},
		{"bad ip", KindIP, "999.1.1.1", "intel.bad_ip"},
		{"ip with port", KindIP, "192.0.2.1:443", "intel.bad_ip"},
		{"ip zone", KindIP, "fe80::1%eth0", "intel.ip_zone"},
		{"bad cidr", KindCIDR, "10.0.0.0/33", "intel.bad_cidr"},
		{"cidr v6 bits", KindCIDR, "2001:db8::/129", "intel.bad_cidr"},
		{"md5 short", KindMD5, "d41d8cd98f00b204e9800998ecf8427", "intel.bad_hash_length"},
		{"sha1 given md5", KindSHA1, "d41d8cd98f00b204e9800998ecf8427e", "intel.bad_hash_length"},
		{"sha256 not hex", KindSHA256, strings.Repeat("g", 64), "intel.bad_hash_digit"},
		{"domain is ip", KindDomain, "192.0.2.1", "intel.domain_is_ip"},
		{"domain bad char", KindDomain, "evil!.example", "intel.domain_bad_char"},
		{"domain space", KindDomain, "evil example.com", "intel.domain_bad_char"},
		{"domain empty label", KindDomain, "evil..example", "intel.domain_empty_label"},
		{"domain only dot", KindDomain, ".", "intel.domain_empty_label"},
		{"domain long label", KindDomain, strings.Repeat("a", 64) + ".example", "intel.domain_label_too_long"},
		{"domain too long", KindDomain, strings.Repeat("abcdefghi.", 26) + "example", "intel.domain_too_long"},
		{"domain numeric tld", KindDomain, "evil.123", "intel.domain_numeric_tld"},
		{"domain single label", KindDomain, "localhost", "intel.domain_single_label"},
		{"domain tld only", KindDomain, ".com", "intel.domain_single_label"},
		{"domain is url", KindDomain, "http://evil.example/", "intel.domain_bad_char"},
		{"idn symbol", KindDomain, "evil☃.example", "intel.bad_idn"},
		{"url no host", KindURL, "http:///path", "intel.bad_url"},
		{"url bad scheme", KindURL, "1http://evil.example/", "intel.bad_url_scheme"},
		{"url bad port", KindURL, "http://evil.example:8o/", "intel.bad_url"},
		{"url bad host", KindURL, "http://evil!host/", "intel.bad_url_host"},
		{"url single label host", KindURL, "http://intranet/", "intel.bad_url_host"},
		{"email no at", KindEmail, "attacker.evil.example", "intel.bad_email"},
		{"email no local", KindEmail, "@evil.example", "intel.bad_email"},
		{"email space", KindEmail, "a b@evil.example", "intel.bad_email"},
		{"email bad domain", KindEmail, "a@evil", "intel.domain_single_label"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.kind, tc.in)
			if err == nil {
				t.Fatalf("Normalize(%s, %q) = %q, want error %s", tc.kind, tc.in, got, tc.msg)
			}
			if f := checkMessage(t, err); f.Msg != tc.msg {
				t.Errorf("Normalize(%s, %q) error = %v, want message %s", tc.kind, tc.in, err, tc.msg)
			}
		})
	}
}

func TestGuess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Kind
	}{
		{"192.0.2.1", KindIP},
		{"2001:db8::1", KindIP},
		{"192.0.2[.]1", KindIP},
		{"192.0.2.0/24", KindCIDR},
		{"2001:db8::/32", KindCIDR},
		{"evil.example", KindDomain},
		{"evil[.]example", KindDomain},
		{"例え.テスト", KindDomain},
		{"http://evil.example/", KindURL},
		{"hxxp://evil[.]example/a", KindURL},
		{"evil.example/payload.exe", KindURL},
		{"192.0.2.1/payload.exe", KindURL},
		{"a@evil.example", KindEmail},
		{"mailto:a@evil.example", KindEmail},
		{"d41d8cd98f00b204e9800998ecf8427e", KindMD5},
		{"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", KindSHA1},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", KindSHA256},
	}
	for _, tc := range tests {
		got, err := Guess(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Guess(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "not an indicator", "localhost", "d41d8cd98f00b204e9800998ecf8427"} {
		got, err := Guess(in)
		if err == nil {
			t.Errorf("Guess(%q) = %q, want an error", in, got)
			continue
		}
		checkMessage(t, err)
	}
}

func TestParseKind(t *testing.T) {
	t.Parallel()
	for _, k := range Kinds {
		if got, ok := ParseKind(" " + strings.ToUpper(string(k)) + " "); !ok || got != k {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", k, got, ok, k)
		}
		if !k.Valid() {
			t.Errorf("%q.Valid() = false", k)
		}
	}
	for in, want := range map[string]Kind{"ip-dst": KindIP, "hostname": KindDomain, "SHA-256": KindSHA256, "email-src": KindEmail} {
		if got, ok := ParseKind(in); !ok || got != want {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, k := range []Kind{KindHosts, KindHashes, "", "yara"} {
		if k.Valid() {
			t.Errorf("%q.Valid() = true, want false", k)
		}
	}
}

// TestPunycode checks the encoder against RFC 3492 §7.1's samples and
// well-known registered names.
func TestPunycode(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"bücher", "bcher-kva"},
		{"münchen", "mnchen-3ya"},
		{"例え", "r8jz45g"},
		{"テスト", "zckzah"},
		{"日本語", "wgv71a119e"},
		// RFC 3492 7.1 (B) Chinese (simplified) and (L) Japanese.
		{"\u4ed6\u4eec\u4e3a\u4ec0\u4e48\u4e0d\u8bf4\u4e2d\u6587", "ihqwcrb4cv8a8dqg056pqjye"},
		{"3\u5e74B\u7d44\u91d1\u516b\u5148\u751f", "3B-ww4c5e180e575a65lsy2b"},
		{"\u305d\u306e\u30b9\u30d4\u30fc\u30c9\u3067", "d9juau41awczczp"},
	}
	for _, tc := range tests {
		if got, ok := punycode(tc.in); !ok || got != tc.want {
			t.Errorf("punycode(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}
