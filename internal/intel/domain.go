// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/koban-csirt/koban/internal/fault"
)

// Limits of DNS names (RFC 1035), in bytes of the xn-- form.
const (
	maxDomainLen = 253
	maxLabelLen  = 63
)

// normDomain returns the canonical form of the domain name s: lower case,
// without a trailing dot or a leading "*." or ".", internationalised labels
// in their xn-- form. A name needs two labels at least: an indicator for a
// whole top-level domain would match far too much.
func normDomain(s string) (string, error) {
	orig := s
	s = trimDomain(s)
	if s == "" {
		return "", fault.New(fault.Invalid, "intel.domain_empty_label", "value", clip(orig))
	}
	if _, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return "", fault.New(fault.Invalid, "intel.domain_is_ip", "value", clip(orig))
	}
	pos := 0
	for _, r := range s {
		pos++
		if r < utf8.RuneSelf && !domainByte(byte(r)) && r != '.' && !(r >= 'A' && r <= 'Z') {
			return "", fault.New(fault.Invalid, "intel.domain_bad_char", "value", clip(orig), "pos", pos, "char", string(r))
		}
	}
	if isASCII(s) {
		s = strings.ToLower(s)
	} else {
		var ok bool
		if s, ok = idnaToASCII(s); !ok {
			return "", fault.New(fault.Invalid, "intel.bad_idn", "value", clip(orig))
		}
		s = trimDomain(s)
	}
	if len(s) > maxDomainLen {
		return "", fault.New(fault.Invalid, "intel.domain_too_long", "value", clip(orig), "max", maxDomainLen)
	}
	labels := 0
	for rest := s; ; {
		label, after, more := strings.Cut(rest, ".")
		switch {
		case label == "":
			return "", fault.New(fault.Invalid, "intel.domain_empty_label", "value", clip(orig))
		case len(label) > maxLabelLen:
			return "", fault.New(fault.Invalid, "intel.domain_label_too_long", "value", clip(orig), "max", maxLabelLen)
		}
		labels++
		if !more {
			if isDigits(label) {
				return "", fault.New(fault.Invalid, "intel.domain_numeric_tld", "value", clip(orig))
			}
			break
		}
		rest = after
	}
	if labels < 2 {
		return "", fault.New(fault.Invalid, "intel.domain_single_label", "value", clip(orig))
	}
	return s, nil
}

// trimDomain removes a trailing dot and a leading "*." or ".".
func trimDomain(s string) string {
	s = strings.TrimSuffix(s, ".")
	if strings.HasPrefix(s, "*.") {
		return s[2:]
	}
	return strings.TrimPrefix(s, ".")
}

// domainByte reports the bytes a canonical domain name is made of besides
// dots: lower-case letters, digits, '-' and '_' (service labels such as
// _dmarc, and names malware uses, have underscores).
func domainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// idnaToASCII turns an internationalised domain name into its ASCII form:
// NFKC and lower case (which maps full-width letters and the full-width
// dot), the ideographic full stops as dots, then each label with non-ASCII
// letters as "xn--" and its punycode (RFC 3492). This is the mapping of
// UTS #46 for the names people write, not its complete tables
// (golang.org/x/net/idna is not among koban's modules): labels with symbols
// or punctuation outside ASCII are refused rather than guessed at.
func idnaToASCII(s string) (string, bool) {
	s = strings.ToLower(norm.NFKC.String(s))
	s = strings.NewReplacer("\u3002", ".", "\uff61", ".", "\uff0e", ".").Replace(s)
	var b strings.Builder
	for i, label := range strings.Split(s, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		if isASCII(label) {
			b.WriteString(label)
			continue
		}
		for _, r := range label {
			if r >= utf8.RuneSelf && !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) {
				return "", false
			}
		}
		enc, ok := punycode(label)
		if !ok {
			return "", false
		}
		b.WriteString("xn--")
		b.WriteString(enc)
	}
	return b.String(), true
}

// appendHostLower appends the form of host name s that domain indicators
// are compared with: ASCII lower case without a trailing dot, or for a name
// with other letters its xn-- form (which allocates; such names are rare
// in logs, which carry the xn-- form DNS uses). It returns false for a
// name no domain indicator can equal.
func appendHostLower(dst []byte, s string) ([]byte, bool) {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > maxDomainLen*4 {
		return dst, false
	}
	if !isASCII(s) {
		a, ok := idnaToASCII(s)
		if !ok {
			return dst, false
		}
		s = a
	}
	if len(s) > maxDomainLen {
		return dst, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst, true
}
