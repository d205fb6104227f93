// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"net/netip"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/intel"
)

// Bounds of Extract.
const (
	// MaxExtractInput is how much of a text Extract reads, in bytes; the
	// rest is ignored.
	MaxExtractInput = 1 << 20
	// MaxExtracted is the most observables one call returns.
	MaxExtracted = 1000
)

// Extract returns the observables found in free text (an incident's
// description, an e-mail body, an alert's message), in the order they first
// appear, each once, at most MaxExtracted from the first MaxExtractInput
// bytes. Their Source is ObservableSourceText; each parses back with
// ParseObservable to itself.
//
// Full-width ASCII (ｈｔｔｐ, ＠, １９２．０…) is read as ASCII first, and
// defanged forms (see Refang) as what they hide. It finds:
//   - URLs with a scheme (http, https, ftp, ftps, sftp, ws, wss), ending at a
//     blank, a quote, an angle bracket or Japanese text, without trailing
//     punctuation or an unbalanced closing bracket; and the URL's host as a
//     domain or address;
//   - e-mail addresses whose domain passes the rules for domains below (but
//     may end in a file-like top-level domain such as .zip);
//   - IPv4 addresses of exactly four parts, not next to a letter, digit, "_"
//     or another dot-separated number (v10.0.19045.1 and OIDs are not
//     addresses), not after "version", "ver", "build" or "バージョン", not
//     a network in CIDR notation, with a port allowed after them; IPv6
//     addresses that net/netip accepts and that have a group of three hex
//     digits at least (so that "ab::cd" in code is left alone). Loopback,
//     unspecified addresses and netmasks (255.255.255.0) are left out: they
//     never identify anything;
//   - domain names ending in a top-level domain of a small built-in list
//     (every country code, the old generic ones and the new ones seen most
//     in abuse reports) — so that file names (invoice.pdf, cmd.exe) and
//     internal names (example.local) are not domains. Top-level domains
//     that are also common file extensions (.zip, .mov, .app, .sh, .py,
//     .pl, .md, .rs, .so, .ps, .ai, .pm) count only when the writer
//     defanged the name (evil[.]zip) or it is in a URL or an e-mail
//     address; a defanged name counts whatever its top-level domain.
//     "Sentence.It" (a capitalised last part, typical of a missing blank
//     after a full stop: "evil.example.Please" gives evil.example), an
//     upper-case ending after small letters (System.IO), names followed by
//     "(" (code) and ASP.NET-style product names are not domains. A name
//     followed by "/" is read as a URL without a scheme too;
//   - MD5, SHA-1 and SHA-256 hashes: runs of exactly 32, 40 or 64 hex
//     digits with no letter, digit, "_" or "-" on either side (not part of
//     a longer hex run or of a GUID written with dashes), not all decimal
//     digits, not after "IMPHASH=". A GUID written without dashes looks
//     like an MD5 and is taken for one;
//   - file names with an extension attackers use (exe, dll, scr, ps1, vbs,
//     js, hta, lnk, iso, zip, rar, one, docm, sh …), double extensions
//     included (invoice.pdf.exe): the last part of a path, starting after a
//     blank, quote, bracket or punctuation. In Japanese text without such a
//     boundary the name starts after the last particle (の, を, は, が,
//     に, で, と, へ), so "添付の請求書.exeを開いた" gives 請求書.exe.
//
// Users and hosts are not looked for: nothing in free text tells them apart
// from other words. FromAlertFields reads them from alert fields.
func Extract(text string) []Observable {
	return obsExtract(text, ObservableSourceText, "", MaxExtracted)
}

// obsExtract is Extract with the Source and Note of the results and a limit.
func obsExtract(text, source, note string, limit int) []Observable {
	if len(text) > MaxExtractInput {
		cut := MaxExtractInput
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	s, fanged := obsRefang(obsFoldWidth(text), true)
	x := &obsScanner{s: s, fanged: fanged, used: make([]bool, len(s))}
	x.urls()
	x.emails()
	x.addrs()
	x.domains()
	x.hashes()
	x.filenames()
	sort.SliceStable(x.found, func(i, j int) bool { return x.found[i].pos < x.found[j].pos })

	var out []Observable
	seen := map[Observable]bool{}
	tried := map[obsCandidate]bool{}
	for _, c := range x.found {
		c.pos = 0
		if tried[c] {
			continue
		}
		tried[c] = true
		o, err := ParseObservable(c.kind, c.raw)
		if err != nil || obsUseless(o) || seen[o] {
			continue
		}
		seen[o] = true
		o.Source, o.Note = source, note
		out = append(out, o)
		if len(out) == limit {
			break
		}
	}
	return out
}

// obsUseless reports observables that never identify anything: loopback and
// unspecified addresses and netmasks.
func obsUseless(o Observable) bool {
	if o.Kind != ObservableIP {
		return false
	}
	a, err := netip.ParseAddr(o.Value)
	if err != nil {
		return true
	}
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		return b[0] == 255 && (^v)&(^v+1) == 0 // 255.x… with contiguous ones: a netmask
	}
	return false
}

// obsFoldWidth reads full-width ASCII forms (U+FF01–U+FF5E) as ASCII and the
// ideographic space as a blank, as Japanese text often writes addresses.
func obsFoldWidth(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == 0x3000 || (r >= 0xFF01 && r <= 0xFF5E) }) {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == 0x3000:
			return ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		}
		return r
	}, s)
}

// obsCandidate is something that looks like an observable at pos.
type obsCandidate struct {
	pos  int
	kind ObservableKind
	raw  string
}

// obsScanner finds candidates in s. fanged marks the bytes of s that came
// from a defanged form; used marks the URLs and e-mail addresses found, in
// which the later scans do not look.
type obsScanner struct {
	s      string
	fanged []bool
	used   []bool
	found  []obsCandidate
}

func (x *obsScanner) add(pos int, k ObservableKind, raw string) {
	x.found = append(x.found, obsCandidate{pos: pos, kind: k, raw: raw})
}

func (x *obsScanner) use(from, to int) {
	for i := from; i < to; i++ {
		x.used[i] = true
	}
}

func (x *obsScanner) isUsed(from, to int) bool {
	for i := from; i < to; i++ {
		if x.used[i] {
			return true
		}
	}
	return false
}

func (x *obsScanner) isFanged(from, to int) bool {
	for i := from; i < to; i++ {
		if x.fanged[i] {
			return true
		}
	}
	return false
}

// obsSchemes are the URL schemes Extract looks for (after re-fanging).
var obsSchemes = map[string]bool{"http": true, "https": true, "ftp": true, "ftps": true, "sftp": true, "ws": true, "wss": true}

// urls finds "scheme://…".
func (x *obsScanner) urls() {
	s := x.s
	for i := 0; ; {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			return
		}
		p := i + j
		i = p + 3
		st := p
		for st > 0 && obsAlnum(s[st-1]) && p-st < 5 {
			st--
		}
		if st > 0 && obsAlnum(s[st-1]) || !obsSchemes[strings.ToLower(s[st:p])] {
			continue
		}
		end := obsTrimURL(s, st, obsURLEnd(s, p+3))
		if end > p+3 {
			x.url(st, end)
			// Past it even when it is no URL: the run up to a blank is read
			// once, whatever it holds.
			i = end
		}
	}
}

// url adds the URL s[from:to] and its host.
func (x *obsScanner) url(from, to int) bool {
	canon, err := intel.Normalize(intel.KindURL, x.s[from:to])
	if err != nil {
		return false
	}
	x.add(from, ObservableURL, canon)
	if h := obsURLHost(canon); h != "" {
		if _, err := netip.ParseAddr(h); err == nil {
			x.add(from, ObservableIP, h)
		} else {
			x.add(from, ObservableDomain, h)
		}
	}
	x.use(from, to)
	return true
}

// obsURLHost returns the host of a canonical URL, without brackets.
func obsURLHost(canon string) string {
	_, rest, _ := strings.Cut(canon, "://")
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		rest = rest[:end]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if strings.HasPrefix(rest, "[") {
		h, _, _ := strings.Cut(rest[1:], "]")
		return h
	}
	if c := strings.LastIndexByte(rest, ':'); c >= 0 {
		rest = rest[:c]
	}
	return rest
}

// obsURLEnd returns where a URL that starts before from ends: at a blank, a
// control character, a quote or angle bracket, or Japanese text. Japanese
// letters belong to the host only when a dot follows them (短縮.example.jp);
// "https://evil.exampleからアクセス" ends before から.
func obsURLEnd(s string, from int) int {
	i := from
	inHost := true
	for i < len(s) && i-from < MaxObservableLen {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < utf8.RuneSelf:
			if r <= ' ' || r == 0x7f || strings.IndexByte("\"<>`\\^{|}", byte(r)) >= 0 {
				return i
			}
			if r == '/' || r == '?' || r == '#' {
				inHost = false
			}
		case obsForeignLetter(r):
		case inHost && obsCJKLetter(r):
			j := i + n
			for j < len(s) {
				r2, n2 := utf8.DecodeRuneInString(s[j:])
				if !obsCJKLetter(r2) && !obsForeignLetter(r2) && !(r2 < utf8.RuneSelf && obsDomainByte(byte(r2))) {
					break
				}
				j += n2
			}
			if j == len(s) || s[j] != '.' {
				return i
			}
			n = j - i
		default:
			return i
		}
		i += n
	}
	return i
}

// obsCJKLetter reports the Japanese and Chinese letters obsForeignLetter
// leaves out.
func obsCJKLetter(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 0x30FC
}

// obsForeignLetter reports letters of scripts that domain names and URLs are
// written in besides ASCII (Cyrillic, Greek, accented Latin …), but not
// Japanese or Chinese, which in Japanese text is the sentence around a name.
func obsForeignLetter(r rune) bool {
	if !unicode.IsLetter(r) && !unicode.IsMark(r) && !unicode.IsDigit(r) {
		return false
	}
	return !obsCJKLetter(r)
}

// obsTrimURL drops trailing punctuation from the URL s[from:to], and
// closing brackets that the URL does not open.
func obsTrimURL(s string, from, to int) int {
	for to > from {
		c := s[to-1]
		switch c {
		case '.', ',', ';', ':', '!', '?', '\'', '*':
			to--
			continue
		case ')', ']':
			open := byte('(')
			if c == ']' {
				open = '['
			}
			u := s[from:to]
			if strings.Count(u, string(open)) < strings.Count(u, string(c)) {
				to--
				continue
			}
		}
		break
	}
	return to
}

// emails finds local@domain.
func (x *obsScanner) emails() {
	s := x.s
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			return
		}
		at := i + j
		i = at + 1
		if x.used[at] {
			continue
		}
		st := at
		for st > 0 && at-st <= 64 && obsLocalByte(s[st-1]) {
			st--
		}
		for st < at && s[st] == '.' {
			st++
		}
		if st == at || at-st > 64 {
			continue
		}
		from, to, ok := obsDomainRun(s, at+1)
		if !ok || from != at+1 || !x.domainOK(from, to, true) {
			continue
		}
		x.add(st, ObservableEmail, s[st:to])
		x.use(st, to)
		i = to
	}
}

// obsLocalByte reports the bytes Extract reads as part of an e-mail
// address's local part.
func obsLocalByte(c byte) bool {
	return obsAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// obsDomainByte reports the ASCII bytes of a domain name's labels.
func obsDomainByte(c byte) bool { return obsAlnum(c) || c == '-' || c == '_' }

// obsDomainRun returns the run of label characters and dots that starts at
// from, trimmed of dots and dashes at its ends; ok is false when it has no
// dot.
func obsDomainRun(s string, from int) (start, end int, ok bool) {
	end = from
	for end < len(s) && end-from <= 4*253 {
		r, n := utf8.DecodeRuneInString(s[end:])
		if r < utf8.RuneSelf {
			if !obsDomainByte(byte(r)) && r != '.' {
				break
			}
		} else if !obsForeignLetter(r) {
			break
		}
		end += n
	}
	start = from
	for start < end && (s[start] == '.' || s[start] == '-' || s[start] == '_') {
		start++
	}
	for end > start && (s[end-1] == '.' || s[end-1] == '-') {
		end--
	}
	return start, end, strings.IndexByte(s[start:end], '.') > 0
}

// domainOK applies Extract's rules for domain names to s[from:to];
// inContext is true inside an e-mail address.
func (x *obsScanner) domainOK(from, to int, inContext bool) bool {
	name := x.s[from:to]
	if strings.Contains(name, "..") {
		return false
	}
	tld := name[strings.LastIndexByte(name, '.')+1:]
	if len(tld) < 2 || len(tld) > 63 {
		return false
	}
	if x.isFanged(from, to) {
		return obsLetters(tld) || strings.HasPrefix(strings.ToLower(tld), "xn--")
	}
	lower := strings.ToLower(tld)
	if !obsTLDs[lower] || obsTitleCase(tld) || obsProductNames[strings.ToLower(name)] {
		return false
	}
	if tld != lower && strings.ToUpper(name) != name {
		return false // System.IO, Socket.IO: an upper-case ending after small letters is code
	}
	return inContext || !obsFileTLDs[lower]
}

func obsLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('a' <= s[i]|0x20 && s[i]|0x20 <= 'z') {
			return false
		}
	}
	return s != ""
}

// obsTitleCase reports "It", "Com": a capital then small letters.
func obsTitleCase(s string) bool {
	return len(s) > 1 && 'A' <= s[0] && s[0] <= 'Z' && strings.ToUpper(s[1:]) != s[1:]
}

// domains finds domain names outside URLs and e-mail addresses, and
// "domain/path" as a URL.
func (x *obsScanner) domains() {
	s := x.s
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !(r < utf8.RuneSelf && obsDomainByte(byte(r))) && !(r >= utf8.RuneSelf && obsForeignLetter(r)) {
			i += n
			continue
		}
		from, to, ok := obsDomainRun(s, i)
		runEnd := to
		for runEnd < len(s) && (s[runEnd] == '.' || s[runEnd] == '-') {
			runEnd++
		}
		next := i + 1
		if runEnd > next {
			next = runEnd
		}
		if ok && !x.domainOK(from, to, false) {
			// "evil.example.Please": a sentence begins after the name.
			if d := strings.LastIndexByte(s[from:to], '.'); obsTitleCase(s[from+d+1:to]) && strings.IndexByte(s[from:from+d], '.') > 0 {
				to = from + d
			}
		}
		if ok && !x.isUsed(from, to) && !(to < len(s) && s[to] == '(') && x.domainOK(from, to, false) {
			if to < len(s) && s[to] == '/' {
				end := obsTrimURL(s, from, obsURLEnd(s, to))
				if !x.url(from, end) {
					x.add(from, ObservableDomain, s[from:to])
				}
				next = max(next, end) // the path is read once
			} else {
				x.add(from, ObservableDomain, s[from:to])
			}
		}
		for next < len(s) && x.used[next] {
			next++
		}
		i = next
	}
}
