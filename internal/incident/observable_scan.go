// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addrs finds IPv4 and IPv6 addresses, with or without a port.
func (x *obsScanner) addrs() {
	s := x.s
	for i := 0; i < len(s); {
		if !obsAddrByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && obsAddrByte(s[j]) {
			j++
		}
		from := i
		if s[from] == ':' && (from+1 >= len(s) || s[from+1] != ':') {
			from++ // "ip:192.0.2.1"
		} else if from > 0 && (obsAlnum(s[from-1]) || s[from-1] == '_') {
			i = j
			continue
		}
		if j < len(s) && (obsAlnum(s[j]) || s[j] == '_') || from >= j || x.isUsed(from, j) {
			i = j
			continue
		}
		run := s[from:j]
		if strings.Count(run, ":") >= 2 {
			x.addr6(from, run)
		} else {
			x.addr4(from, j, run)
		}
		i = j
	}
}

func obsAddrByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' || c == ':' || c == '.'
}

// addr4 checks "a.b.c.d[:port]" at s[from:j].
func (x *obsScanner) addr4(from, j int, run string) {
	host, _, _ := strings.Cut(run, ":")
	host = strings.TrimRight(host, ".") // the end of a sentence
	if strings.Count(host, ".") != 3 || strings.Trim(host, "0123456789.") != "" {
		return // not four numbers: a version, an OID, 1.2.3.4.5, a hex word
	}
	end := from + len(host)
	if end+1 < len(x.s) && x.s[end] == '/' && '0' <= x.s[end+1] && x.s[end+1] <= '9' {
		return // a network: 192.0.2.0/24
	}
	if obsAfterVersionWord(x.s[:from]) {
		return
	}
	x.add(from, ObservableIP, host)
}

// obsAfterVersionWord reports text that ends with a word that makes the
// number after it a version: "version 10.0.0.1".
func obsAfterVersionWord(before string) bool {
	if len(before) > 24 {
		before = before[len(before)-24:]
	}
	b := strings.ToLower(strings.TrimRight(before, " :=\t"))
	for _, w := range []string{"version", "ver", "ver.", "v", "build", "バージョン", "版"} {
		if strings.HasSuffix(b, w) {
			rest := b[:len(b)-len(w)]
			if rest == "" || !obsAlnum(rest[len(rest)-1]) {
				return true
			}
		}
	}
	return false
}

// addr6 checks an IPv6 address.
func (x *obsScanner) addr6(from int, run string) {
	run = strings.TrimRight(run, ".")
	if strings.HasSuffix(run, ":") && !strings.HasSuffix(run, "::") {
		run = run[:len(run)-1]
	}
	a, err := netip.ParseAddr(run)
	if err != nil || !a.Is6() {
		return
	}
	long := false
	for _, g := range strings.FieldsFunc(run, func(r rune) bool { return r == ':' || r == '.' }) {
		if len(g) >= 3 {
			long = true
		}
	}
	if long {
		x.add(from, ObservableIP, run)
	}
}

// hashes finds runs of 32, 40 or 64 hex digits.
func (x *obsScanner) hashes() {
	s := x.s
	for i := 0; i < len(s); {
		if !obsHex(s[i]) {
			i++
			continue
		}
		j := i
		digits := true
		for j < len(s) && obsHex(s[j]) {
			if s[j] > '9' {
				digits = false
			}
			j++
		}
		ok := !digits && (i == 0 || !obsHashNeighbour(s[i-1])) && (j == len(s) || !obsHashNeighbour(s[j])) &&
			!obsImphash(s[:i])
		if ok {
			switch j - i {
			case 32:
				x.add(i, ObservableMD5, s[i:j])
			case 40:
				x.add(i, ObservableSHA1, s[i:j])
			case 64:
				x.add(i, ObservableSHA256, s[i:j])
			}
		}
		i = j
	}
}

// obsImphash reports text that ends with "IMPHASH=" (Sysmon's Hashes): an
// import hash has an MD5's length but is no file's hash.
func obsImphash(before string) bool {
	const w = "imphash="
	return len(before) >= len(w) && strings.EqualFold(before[len(before)-len(w):], w)
}

func obsHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' }

func obsHashNeighbour(c byte) bool { return obsAlnum(c) || c == '_' || c == '-' }

// obsSuspiciousExts are the file extensions Extract takes file names by:
// programs, scripts, shortcuts, disk images, archives and macro documents
// that phishing and malware deliver.
var obsSuspiciousExts = obsSet(`exe dll scr pif cpl msi msix msp appx appxbundle sys drv ocx
	bat cmd ps1 psm1 psd1 vbs vbe js jse wsf wsh hta sct jar lnk url scf chm reg inf
	iso img vhd vhdx dmg zip rar 7z cab ace arj gz tgz xz
	one docm dotm xlsm xltm xlam pptm potm ppam sldm
	sh elf`)

// filenames finds names with a suspicious extension.
func (x *obsScanner) filenames() {
	s := x.s
	prev := 0 // the end of the last name: names do not overlap
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '.')
		if j < 0 {
			return
		}
		dot := i + j
		i = dot + 1
		e := dot + 1
		for e < len(s) && e-dot <= 11 && obsAlnum(s[e]) {
			e++
		}
		if e == dot+1 || !obsSuspiciousExts[strings.ToLower(s[dot+1:e])] || e < len(s) && s[e] == '_' ||
			e+1 < len(s) && s[e] == '.' && obsAlnum(s[e+1]) {
			continue
		}
		st := obsNameStart(s, max(prev, dot-255), dot)
		prev = e
		name := s[st:e]
		if strings.Trim(name[:dot-st], ".") == "" || x.isUsed(st, e) || x.isFanged(st, e) {
			continue
		}
		x.add(st, ObservableFilename, name)
	}
}

// obsParticles are the Japanese particles after which a file name in a
// sentence starts.
const obsParticles = "のをはがにでとへ"

// obsNameStart returns where the file name whose extension starts at dot
// begins, not before low.
func obsNameStart(s string, low, dot int) int {
	st := dot
	for st > low {
		r, n := utf8.DecodeLastRuneInString(s[:st])
		if obsNameStop(r) {
			break
		}
		st -= n
	}
	// Japanese: after the last particle, if a name is left.
	for k := dot; k > st; {
		r, n := utf8.DecodeLastRuneInString(s[st:k])
		k -= n
		if strings.ContainsRune(obsParticles, r) {
			if k+n < dot {
				st = k + n
			}
			break
		}
	}
	// Opening brackets not closed in the name: "(cmd.exe" → "cmd.exe".
	for st < dot {
		closer := obsCloser(s[st])
		if closer == 0 || strings.IndexByte(s[st:dot], closer) >= 0 {
			break
		}
		st++
	}
	return st
}

// obsNameStop reports the characters a file name in text does not run
// over: blanks, quotes, path separators, punctuation and Japanese brackets.
func obsNameStop(r rune) bool {
	if r < utf8.RuneSelf {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("\"'`<>|*?,;:=\\/", r)
	}
	return unicode.IsSpace(r) || unicode.IsControl(r) || (r >= 0x3000 && r <= 0x303F) || r == 0xFFFD ||
		unicode.Is(unicode.Pi, r) || unicode.Is(unicode.Pf, r)
}

func obsSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// obsTLDs are the top-level domains Extract accepts in names it was not told
// are domains: every country code of the root zone, the old generic ones,
// and the new generic ones that abuse reports (Spamhaus, Netcraft,
// Interisle) name most, plus Japan's geographic ones and .onion. Words that are also
// common in code or prose (.name, .int, .one, .data, .page, .zone, .help …)
// are left out on purpose; they still count when defanged, in a URL or in
// an e-mail address. A test checks the list against IANA's.
var obsTLDs = obsSet(`
	ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bv bw by bz
	ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk fm
	fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is
	it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm
	mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr
	ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg
	th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
	com net org info biz edu gov mil arpa pro aero coop museum mobi asia tel travel jobs cat post
	xyz top club online site shop store app dev cloud tech space website live life world today news email
	link click support digital icu cyou buzz monster rest bar fun lol work cam best fit host press pics quest
	sbs cfd autos boats homes bond vip win bid loan men download review racing stream trade accountant
	science party cricket faith gdn ltd mom lat bio ink wiki blog fyi pub city xin sale deals codes
	zip mov tokyo osaka nagoya kyoto yokohama okinawa ryukyu
	onion`)

// obsSpecialTLDs are in obsTLDs but not in the root zone: .onion (RFC 7686),
// which ransom notes give addresses in.
var obsSpecialTLDs = obsSet(`onion`)

// obsFileTLDs are top-level domains that are also common file extensions:
// a name ending in one is a domain only when defanged or in a URL or an
// e-mail address.
var obsFileTLDs = obsSet(`zip mov app sh py pl pm md rs so ps ai`)

// obsProductNames are product names written like domains.
var obsProductNames = obsSet(`asp.net vb.net ado.net`)
