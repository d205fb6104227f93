// SPDX-License-Identifier: Apache-2.0

package syslog

import "time"

// stamp is a parsed timestamp: the Unix time in nanoseconds, or valid false
// when the text had the shape of a time but no representable value (month
// 13, year 3000, Feb 29 in no nearby leap year).
type stamp struct {
	ns    int64
	valid bool
}

const (
	nsPerSecond = int64(time.Second)
	nsPerDay    = 24 * 60 * 60 * nsPerSecond
	// minYear and maxYear keep Unix nanoseconds inside int64.
	minYear = 1678
	maxYear = 2261
)

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm); y must be positive.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthDays = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// civil returns the Unix nanoseconds of a UTC date and time, or false when
// the date does not exist or is out of range.
func civil(y, mo, d, h, mi, s int, frac int64) (int64, bool) {
	if y < minYear || y > maxYear || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	md := monthDays[mo]
	if mo == 2 && isLeap(y) {
		md = 29
	}
	if d > md {
		return 0, false
	}
	if s == 60 { // a leap second: keep it inside its minute
		s, frac = 59, nsPerSecond-1
	}
	sec := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s)
	return sec*nsPerSecond + frac, true
}

// digits reads exactly n decimal digits at s[i:].
func digits(s string, i, n int) (int, bool) {
	if i+n > len(s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// fraction reads ".ddd…" at s[i:] and returns nanoseconds and the bytes used
// (0 when there is no fraction). Digits past nanoseconds are skipped.
func fraction(s string, i int) (int64, int) {
	if i >= len(s) || (s[i] != '.' && s[i] != ',') {
		return 0, 0
	}
	j := i + 1
	var v int64
	scale := int64(100_000_000)
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		v += int64(s[j]-'0') * scale
		scale /= 10
		j++
	}
	if j == i+1 {
		return 0, 0
	}
	return v, j - i
}

// clock reads "hh:mm:ss" at s[i:].
func clock(s string, i int) (h, m, sec int, ok bool) {
	if i+8 > len(s) || s[i+2] != ':' || s[i+5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := digits(s, i, 2)
	m, ok2 := digits(s, i+3, 2)
	sec, ok3 := digits(s, i+6, 2)
	return h, m, sec, ok1 && ok2 && ok3
}

// zoneOffset reads "Z", "±hh:mm", "±hhmm" or "±hh" at s[i:] and returns the
// offset east of UTC in seconds and the bytes used (0: no zone).
func zoneOffset(s string, i int) (int, int) {
	if i >= len(s) {
		return 0, 0
	}
	switch s[i] {
	case 'Z', 'z':
		return 0, 1
	case '+', '-':
	default:
		return 0, 0
	}
	sign := 1
	if s[i] == '-' {
		sign = -1
	}
	h, ok := digits(s, i+1, 2)
	if !ok || h > 23 {
		return 0, 0
	}
	n, m := 3, 0
	if i+3 < len(s) && s[i+3] == ':' {
		if m, ok = digits(s, i+4, 2); !ok || m > 59 {
			return 0, 0
		}
		n = 6
	} else if mm, ok := digits(s, i+3, 2); ok {
		if mm > 59 {
			return 0, 0
		}
		m, n = mm, 5
	}
	return sign * (h*3600 + m*60), n
}

// isoTime reads an RFC 3339 / ISO 8601 time at s[i:]:
// "YYYY-MM-DD(T| )hh:mm:ss[.frac][zone]". Without a zone the time is UTC.
// It returns the bytes used (0: not this shape).
func isoTime(s string, i int) (stamp, int) {
	y, ok := digits(s, i, 4)
	if !ok || i+19 > len(s) || s[i+4] != '-' || s[i+7] != '-' {
		return stamp{}, 0
	}
	mo, ok1 := digits(s, i+5, 2)
	d, ok2 := digits(s, i+8, 2)
	if !ok1 || !ok2 {
		return stamp{}, 0
	}
	if c := s[i+10]; c != 'T' && c != 't' && c != ' ' {
		return stamp{}, 0
	}
	h, mi, sec, ok := clock(s, i+11)
	if !ok {
		return stamp{}, 0
	}
	j := i + 19
	frac, n := fraction(s, j)
	j += n
	off, n := zoneOffset(s, j)
	j += n
	ns, valid := civil(y, mo, d, h, mi, sec, frac)
	return stamp{ns: ns - int64(off)*nsPerSecond, valid: valid}, j - i
}

// month returns 1–12 for an English month abbreviation in any case.
func month(s string, i int) int {
	if i+3 > len(s) {
		return 0
	}
	k := uint32(s[i]|0x20)<<16 | uint32(s[i+1]|0x20)<<8 | uint32(s[i+2]|0x20)
	switch k {
	case 'j'<<16 | 'a'<<8 | 'n':
		return 1
	case 'f'<<16 | 'e'<<8 | 'b':
		return 2
	case 'm'<<16 | 'a'<<8 | 'r':
		return 3
	case 'a'<<16 | 'p'<<8 | 'r':
		return 4
	case 'm'<<16 | 'a'<<8 | 'y':
		return 5
	case 'j'<<16 | 'u'<<8 | 'n':
		return 6
	case 'j'<<16 | 'u'<<8 | 'l':
		return 7
	case 'a'<<16 | 'u'<<8 | 'g':
		return 8
	case 's'<<16 | 'e'<<8 | 'p':
		return 9
	case 'o'<<16 | 'c'<<8 | 't':
		return 10
	case 'n'<<16 | 'o'<<8 | 'v':
		return 11
	case 'd'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

// zoneNames are the zone abbreviations Cisco and others print after a
// time, with their offsets in seconds. Other abbreviations are ambiguous
// (IST, CST) and are left in the text.
var zoneNames = map[string]int{"UTC": 0, "GMT": 0, "JST": 9 * 3600, "KST": 9 * 3600}

// bsdTime reads an RFC 3164 time at s[i:]: "Mmm dd hh:mm:ss", the day
// padded with a space or a zero or not at all, with optional fractional
// seconds, an optional year before the clock ("Mmm dd yyyy hh:mm:ss") and
// an optional known zone abbreviation after it. Without a year, the year is
// chosen that puts the time closest to received while not more than a day
// after it. It returns the bytes used (0: not this shape).
func bsdTime(s string, i int, received int64) (stamp, int) {
	mo := month(s, i)
	if mo == 0 || i+3 >= len(s) || s[i+3] != ' ' {
		return stamp{}, 0
	}
	j := i + 4
	if j < len(s) && s[j] == ' ' {
		j++
	}
	d, ok := digits(s, j, 2)
	if ok {
		j += 2
	} else if d, ok = digits(s, j, 1); ok {
		j++
	} else {
		return stamp{}, 0
	}
	if j >= len(s) || s[j] != ' ' {
		return stamp{}, 0
	}
	j++
	year := 0
	if y, ok := digits(s, j, 4); ok && j+4 < len(s) && s[j+4] == ' ' {
		year = y
		j += 5
	}
	h, mi, sec, ok := clock(s, j)
	if !ok {
		return stamp{}, 0
	}
	j += 8
	frac, n := fraction(s, j)
	j += n
	off := 0
	if j+4 <= len(s) && s[j] == ' ' {
		k := j + 1
		for k < len(s) && k < j+6 && s[k] >= 'A' && s[k] <= 'Z' {
			k++
		}
		if o, known := zoneNames[s[j+1:k]]; known && (k == len(s) || s[k] == ' ' || s[k] == ':') {
			off, j = o, k
		}
	}
	if year != 0 {
		ns, valid := civil(year, mo, d, h, mi, sec, frac)
		return stamp{ns: ns - int64(off)*nsPerSecond, valid: valid}, j - i
	}
	ry := time.Unix(0, received).UTC().Year()
	for y := ry + 1; y >= ry-1; y-- {
		ns, valid := civil(y, mo, d, h, mi, sec, frac)
		ns -= int64(off) * nsPerSecond
		if valid && ns <= received+nsPerDay {
			return stamp{ns: ns, valid: true}, j - i
		}
	}
	return stamp{}, j - i
}

// anyTime reads a time of either shape at s[i:], allowing Cisco's marks for
// an unsynchronised ('*') or once-synchronised ('.') clock before it and a
// colon after it. The time must end the text or be followed by a space.
func anyTime(s string, i int, received int64) (stamp, int) {
	j := i
	if j < len(s) && (s[j] == '*' || s[j] == '.') {
		j++
	}
	st, n := isoTime(s, j)
	if n == 0 {
		st, n = bsdTime(s, j, received)
	}
	if n == 0 {
		return stamp{}, 0
	}
	j += n
	if j < len(s) && s[j] == ':' {
		j++
	}
	if j < len(s) && s[j] != ' ' {
		return stamp{}, 0
	}
	return st, j - i
}
