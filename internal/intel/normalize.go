// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
)

// MaxValueLen bounds an indicator's text, in bytes, before it is
// normalised.
const MaxValueLen = 4096

// Normalize returns the canonical form of raw as an indicator of kind k, the
// form a Set keeps and compares:
//   - every kind: blanks around it trimmed and defanged text re-fanged
//     (hxxp, fxp, [.], (.), {.}, [dot], [:], [://], [@], [at], \.);
//   - ip: net/netip's text; an IPv4-mapped IPv6 address is its IPv4 address;
//   - cidr: the masked network ("10.1.2.3/8" is 10.0.0.0/8), a bare address
//     its /32 or /128, an IPv4-mapped IPv6 range its IPv4 range;
//   - domain: lower case, the trailing dot and a leading "*." or "." removed,
//     internationalised names as their xn-- (punycode) form;
//   - url: lower-case scheme and host, the scheme's default port dropped,
//     the fragment dropped, "/" for an empty path, percent escapes in upper
//     case, http:// assumed for "host/path";
//   - md5, sha1, sha256: lower-case hex of the right length;
//   - email: lower case, with the domain part as for domain; "mailto:" and
//     angle brackets removed.
//
// Errors are fault.Invalid with a message id of the intel catalogue that
// says what is wrong.
func Normalize(k Kind, raw string) (string, error) {
	v, err := normalizeOnce(k, raw)
	// A few inputs settle only on a second pass (a URL whose path ends in
	// a space before a fragment, nested defanging such as "[[.]]"): repeat
	// until the value stops changing, so that Normalize is idempotent.
	for i := 0; err == nil && i < 3; i++ {
		w, err2 := normalizeOnce(k, v)
		if err2 != nil || w == v {
			break
		}
		v = w
	}
	return v, err
}

func normalizeOnce(k Kind, raw string) (string, error) {
	s, err := prepare(raw)
	if err != nil {
		return "", err
	}
	switch k {
	case KindIP:
		return normIP(s)
	case KindCIDR:
		return normCIDR(s)
	case KindDomain:
		return normDomain(s)
	case KindURL:
		return normURL(s)
	case KindMD5, KindSHA1, KindSHA256:
		return normHash(k, s)
	case KindEmail:
		return normEmail(s)
	}
	return "", fault.New(fault.Invalid, "intel.unknown_kind", "kind", clip(string(k)))
}

// Guess returns the kind raw most likely is: a hash by its length, a URL by
// its scheme (or a host followed by a path), an e-mail address by its @, an
// address or a network, else a domain name. It says nothing about whether
// raw is valid as that kind; Normalize does.
func Guess(raw string) (Kind, error) {
	s, err := prepare(raw)
	if err != nil {
		return "", err
	}
	switch len(s) {
	case 32, 40, 64:
		if isHex(s) {
			return map[int]Kind{32: KindMD5, 40: KindSHA1, 64: KindSHA256}[len(s)], nil
		}
	}
	if strings.Contains(s, "://") {
		return KindURL, nil
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return KindIP, nil
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return KindCIDR, nil
	}
	if strings.HasPrefix(strings.ToLower(s), "mailto:") || (strings.Contains(s, "@") && !strings.Contains(s, "/")) {
		return KindEmail, nil
	}
	if host, _, ok := strings.Cut(s, "/"); ok {
		if _, err := normDomain(host); err == nil {
			return KindURL, nil
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return KindURL, nil
		}
	}
	if _, err := normDomain(s); err == nil {
		return KindDomain, nil
	}
	return "", fault.New(fault.Invalid, "intel.unknown_value", "value", clip(s))
}

// prepare trims raw, checks its length and re-fangs it.
func prepare(raw string) (string, error) {
	if len(raw) > MaxValueLen {
		return "", fault.New(fault.Invalid, "intel.too_long", "max", MaxValueLen)
	}
	s := strings.TrimFunc(raw, isBlank)
	if s == "" {
		return "", fault.New(fault.Invalid, "intel.empty")
	}
	if !utf8.ValidString(s) {
		return "", fault.New(fault.Invalid, "intel.invalid_text")
	}
	s = refang(s)
	if s == "" {
		return "", fault.New(fault.Invalid, "intel.empty")
	}
	return s, nil
}

// isBlank reports blanks around a value: white space, and the zero-width
// characters and BOM that copying from documents leaves behind.
func isBlank(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0xA0, 0x3000, 0x200B, 0x200C, 0x200D, 0xFEFF:
		return true
	}
	return false
}

// refangs maps bracketed defanging to the text it hides; keys are lower
// case.
var refangs = map[string]string{
	".": ".", "dot": ".", ":": ":", "://": "://", ":/": ":/", "/": "/", "//": "//",
	"@": "@", "at": "@",
}

// schemeFangs maps defanged URL schemes to real ones (compared ignoring
// case, longest first).
var schemeFangs = []struct{ from, to string }{
	{"hxxps", "https"}, {"hxxp", "http"}, {"fxps", "ftps"}, {"fxp", "ftp"},
	{"h**ps", "https"}, {"h**p", "http"}, {"h__ps", "https"}, {"h__p", "http"},
}

// refang undoes the usual ways reports defang indicators.
func refang(s string) string {
	for _, f := range schemeFangs {
		if len(s) > len(f.from) && strings.EqualFold(s[:len(f.from)], f.from) {
			c := s[len(f.from)]
			if c == ':' || c == '[' || c == '(' || c == '{' {
				s = f.to + s[len(f.from):]
				break
			}
		}
	}
	if !strings.ContainsAny(s, "[({\\") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '[', '(', '{':
			closer := map[byte]byte{'[': ']', '(': ')', '{': '}'}[c]
			if j := strings.IndexByte(s[i+1:], closer); j >= 0 && j <= 4 {
				if r, ok := refangs[strings.ToLower(s[i+1:i+1+j])]; ok {
					b.WriteString(r)
					i += j + 1
					continue
				}
			}
		case '\\':
			if i+1 < len(s) && s[i+1] == '.' {
				continue // \. → .
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	const max = 80
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

func normIP(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", fault.New(fault.Invalid, "intel.bad_ip", "value", clip(s))
	}
	if a.Zone() != "" {
		return "", fault.New(fault.Invalid, "intel.ip_zone", "value", clip(s))
	}
	return a.Unmap().String(), nil
}

func normCIDR(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()).String(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fault.New(fault.Invalid, "intel.bad_cidr", "value", clip(s))
	}
	return canonPrefix(p).String(), nil
}

// canonPrefix masks p and turns an IPv4-mapped IPv6 range (within
// ::ffff:0:0/96) into the IPv4 range it stands for.
func canonPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			return false
		}
	}
	return true
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// hashLen is the number of hex digits of each hash kind.
var hashLen = map[Kind]int{KindMD5: 32, KindSHA1: 40, KindSHA256: 64}

func normHash(k Kind, s string) (string, error) {
	want := hashLen[k]
	for i := 0; i < len(s); i++ {
		if hexVal(s[i]) < 0 {
			r, _ := utf8.DecodeRuneInString(s[i:])
			return "", fault.New(fault.Invalid, "intel.bad_hash_digit", "value", clip(s), "kind", string(k),
				"pos", utf8.RuneCountInString(s[:i])+1, "char", string(r))
		}
	}
	if len(s) != want {
		return "", fault.New(fault.Invalid, "intel.bad_hash_length", "value", clip(s), "kind", string(k),
			"want", want, "got", len(s))
	}
	return strings.ToLower(s), nil
}

func normEmail(s string) (string, error) {
	orig := s
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
	}
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at > 64 {
		return "", fault.New(fault.Invalid, "intel.bad_email", "value", clip(orig))
	}
	local := s[:at]
	for i := 0; i < len(local); i++ {
		if c := local[i]; c <= ' ' || c == 0x7f || strings.IndexByte(`<>()[],;:"@\`, c) >= 0 {
			return "", fault.New(fault.Invalid, "intel.bad_email", "value", clip(orig))
		}
	}
	d, err := normDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	return strings.ToLower(local) + "@" + d, nil
}
