// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Defang returns o's value in a form safe to show and to paste: nothing in
// it is a link a mail client or chat would follow, and invisible direction
// controls are written out. An IPv4 address gets its last dot bracketed
// (192.0.2[.]1), an IPv6 address its first colon (2001[:]db8::1), a domain
// every dot (evil[.]example), a URL "hxxp"/"hxxps"/"fxp" for its scheme and
// its host as an address or a domain (hxxps://evil[.]example/x), an e-mail
// address its @ and its domain's dots (user[@]evil[.]example). Hashes and
// the free-text kinds are unchanged but for direction controls, written
// "[U+202E]". Refang undoes it.
func Defang(o Observable) string {
	v := o.Value
	switch o.Kind {
	case ObservableIP:
		v = obsDefangAddr(v)
	case ObservableDomain:
		v = strings.ReplaceAll(v, ".", "[.]")
	case ObservableEmail:
		if at := strings.LastIndexByte(v, '@'); at >= 0 {
			v = v[:at] + "[@]" + strings.ReplaceAll(v[at+1:], ".", "[.]")
		}
	case ObservableURL:
		v = obsDefangURL(v)
	}
	return obsEscapeBidi(v)
}

// obsDefangAddr brackets an IPv4 address's last dot or an IPv6 address's
// first colon.
func obsDefangAddr(v string) string {
	if strings.Contains(v, ":") {
		return strings.Replace(v, ":", "[:]", 1)
	}
	if i := strings.LastIndexByte(v, '.'); i >= 0 {
		return v[:i] + "[.]" + v[i+1:]
	}
	return v
}

// obsSchemeDefangs are the schemes Defang changes.
var obsSchemeDefangs = map[string]string{"http": "hxxp", "https": "hxxps", "ftp": "fxp", "ftps": "fxps"}

// obsDefangURL defangs a canonical URL's scheme and host.
func obsDefangURL(v string) string {
	i := strings.Index(v, "://")
	if i < 0 {
		return v
	}
	scheme, rest := v[:i], v[i+3:]
	if d, ok := obsSchemeDefangs[scheme]; ok {
		scheme = d
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	user := ""
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user, auth = auth[:at+1], auth[at+1:]
	}
	host, port := auth, ""
	if !strings.HasPrefix(auth, "[") { // an IPv6 host in brackets needs nothing more
		if c := strings.LastIndexByte(auth, ':'); c >= 0 {
			host, port = auth[:c], auth[c:]
		}
		if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
			host = obsDefangAddr(host)
		} else {
			host = strings.ReplaceAll(host, ".", "[.]")
		}
	}
	return scheme + "://" + user + host + port + tail
}

// obsEscapeBidi writes direction controls as "[U+XXXX]".
func obsEscapeBidi(v string) string {
	if strings.IndexFunc(v, obsBidi) < 0 {
		return v
	}
	var b strings.Builder
	for _, r := range v {
		if obsBidi(r) {
			fmt.Fprintf(&b, "[U+%04X]", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Refang undoes defanging in s: Defang's forms and the other ways reports
// write indicators so that they are not links — hxxp, hxxps, fxp, h**p,
// h__p and the Japanese habit "ttp://" for schemes; [.], (.), {.}, [dot]
// for dots (with the blanks around them in "evil [.] example"); [:], [://],
// [/] and [//]; [@], (@), [at], (at) for the @; and "[U+202E]" for a
// direction control. The rest of s is unchanged. For a value that contains
// none of these forms, Refang(Defang(o)) == o.Value.
func Refang(s string) string {
	out, _ := obsRefang(s, false)
	return out
}

// obsBracketFangs maps the text inside brackets, in lower case, to what it
// hides (intel re-fangs the same forms in one indicator).
var obsBracketFangs = map[string]string{
	".": ".", "dot": ".", ":": ":", "://": "://", ":/": ":/", "/": "/", "//": "//", "@": "@", "at": "@",
}

// obsSchemeFangs are defanged schemes, compared ignoring case, longest
// first; need says what must follow.
var obsSchemeFangs = []struct{ from, to, need string }{
	{"hxxps", "https", ":[("}, {"hxxp", "http", ":[("}, {"fxps", "ftps", ":[("}, {"fxp", "ftp", ":[("},
	{"h**ps", "https", ":[("}, {"h**p", "http", ":[("}, {"h__ps", "https", ":[("}, {"h__p", "http", ":[("},
	{"ttps", "https", "://"}, {"ttp", "http", "://"},
}

// obsRefang re-fangs s; with mark it also reports, per byte of the result,
// whether that byte came from a defanged form.
func obsRefang(s string, mark bool) (string, []bool) {
	var b []byte
	var m []bool
	start := 0 // s[start:i] is still to copy
	flush := func(i int) {
		if b == nil {
			b = make([]byte, 0, len(s))
			if mark {
				m = make([]bool, 0, len(s))
			}
		}
		b = append(b, s[start:i]...)
		if mark {
			for range i - start {
				m = append(m, false)
			}
		}
	}
	put := func(repl string) {
		b = append(b, repl...)
		if mark {
			for range repl {
				m = append(m, true)
			}
		}
	}
scan:
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '[' || c == '(' || c == '{':
			closer := obsCloser(c)
			lim := min(len(s), i+9)
			j := strings.IndexByte(s[i+1:lim], closer)
			if j < 0 {
				break
			}
			inner := s[i+1 : i+1+j]
			repl, ok := obsBracketFangs[strings.ToLower(inner)]
			if !ok {
				if r, isBidi := obsBidiEscape(inner); isBidi && c == '[' {
					repl, ok = string(r), true
				}
			}
			if !ok {
				break
			}
			end := i + j + 2
			flush(i)
			// "evil [.] example", "taro [at] example [dot] jp": the blanks
			// around a bracketed dot or @ go too.
			if (repl == "." || repl == "@") && len(b) >= 2 && b[len(b)-1] == ' ' && obsAlnum(b[len(b)-2]) &&
				end+1 < len(s) && s[end] == ' ' && obsAlnum(s[end+1]) {
				b = b[:len(b)-1]
				if mark {
					m = m[:len(m)-1]
				}
				end++
			}
			put(repl)
			i, start = end, end
			continue
		case c|0x20 == 'h' || c|0x20 == 'f' || c|0x20 == 't':
			if i > 0 && obsAlnum(s[i-1]) {
				break
			}
			for _, f := range obsSchemeFangs {
				n := len(f.from)
				if i+n < len(s) && strings.EqualFold(s[i:i+n], f.from) && obsSchemeFollows(s[i+n:], f.need) {
					flush(i)
					put(f.to)
					i += n
					start = i
					continue scan
				}
			}
		}
		i++
	}
	if b == nil {
		if mark {
			return s, make([]bool, len(s))
		}
		return s, nil
	}
	flush(len(s))
	return string(b), m
}

// obsSchemeFollows reports whether rest, after a defanged scheme, starts as
// need says: "://" exactly, or any byte of need.
func obsSchemeFollows(rest, need string) bool {
	if need == "://" {
		return strings.HasPrefix(rest, need)
	}
	return rest != "" && strings.IndexByte(need, rest[0]) >= 0
}

// obsBidiEscape reads "U+202E" as written by obsEscapeBidi.
func obsBidiEscape(inner string) (rune, bool) {
	if len(inner) != 6 || (inner[:2] != "U+" && inner[:2] != "u+") {
		return 0, false
	}
	n, err := strconv.ParseUint(inner[2:], 16, 32)
	if err != nil || !obsBidi(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

// obsCloser returns the bracket that closes c, or 0.
func obsCloser(c byte) byte {
	switch c {
	case '(':
		return ')'
	case '[':
		return ']'
	case '{':
		return '}'
	}
	return 0
}

func obsAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
