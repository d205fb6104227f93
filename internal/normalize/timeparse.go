// SPDX-License-Identifier: Apache-2.0

package normalize

import "time"

// parseTime reads the time formats log sources write, without allocating:
//
//   - ISO 8601 / RFC 3339 dates with 'T' or ' ' between date and time, an
//     optional fraction (any number of digits, '.' or ','), and a zone of Z,
//     ±hh:mm, ±hhmm, ±hh or none (read as UTC): EVTX TimeCreated, Sysmon
//     UtcTime, @timestamp, Suricata's "2017-01-30T16:12:26.985026+0100";
//   - Unix epoch numbers with an optional fraction: seconds (Zeek ts),
//     milliseconds, microseconds or nanoseconds, told apart by their length;
//   - the Common Log Format's "10/Oct/2000:13:55:36 -0700".
//
// It returns Unix nanoseconds.
func parseTime(s string) (int64, bool) {
	s = trimSpace(s)
	if len(s) == 0 {
		return 0, false
	}
	if s[0] >= '0' && s[0] <= '9' && len(s) >= 10 && s[4] == '-' {
		return parseISO(s)
	}
	if len(s) >= 20 && s[2] == '/' && s[6] == '/' {
		return parseCLF(s)
	}
	return parseEpoch(s)
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '"') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '"') {
		s = s[:len(s)-1]
	}
	return s
}

// digits returns the number in s[i:i+n] and whether all n bytes are digits.
func digits(s string, i, n int) (int, bool) {
	if i < 0 || i+n > len(s) {
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

func parseISO(s string) (int64, bool) {
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || s[7] != '-' || month < 1 || month > 12 || day < 1 || day > 31 {
		return 0, false
	}
	i := 10
	var hh, mm, ss, ns int
	if i < len(s) && (s[i] == 'T' || s[i] == ' ' || s[i] == 't') {
		var ok bool
		if hh, ok = digits(s, i+1, 2); !ok || i+3 >= len(s) || s[i+3] != ':' {
			return 0, false
		}
		if mm, ok = digits(s, i+4, 2); !ok {
			return 0, false
		}
		i += 6
		if i < len(s) && s[i] == ':' {
			if ss, ok = digits(s, i+1, 2); !ok {
				return 0, false
			}
			i += 3
		}
		if i < len(s) && (s[i] == '.' || s[i] == ',') {
			i++
			ns, i = fraction(s, i)
		}
		if hh > 23 || mm > 59 || ss > 60 {
			return 0, false
		}
	}
	off, ok := zone(s[i:])
	if !ok {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, ns, time.UTC)
	return t.UnixNano() - int64(off)*int64(time.Second), true
}

// fraction reads the digits at s[i:] as a fraction of a second, keeping
// nanosecond precision, and returns it with the index after the digits.
func fraction(s string, i int) (int, int) {
	ns, scale := 0, 100000000
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		ns += int(s[i]-'0') * scale
		scale /= 10
		i++
	}
	return ns, i
}

// zone reads a time zone suffix and returns its offset east of UTC in
// seconds. The empty suffix is UTC.
func zone(z string) (int, bool) {
	if len(z) > 0 && z[0] == ' ' {
		z = z[1:]
	}
	switch z {
	case "", "Z", "z", "UTC", "GMT":
		return 0, true
	}
	if z[0] != '+' && z[0] != '-' {
		return 0, false
	}
	sign := 1
	if z[0] == '-' {
		sign = -1
	}
	h, ok := digits(z, 1, 2)
	if !ok {
		return 0, false
	}
	m := 0
	switch {
	case len(z) == 3:
	case len(z) == 5:
		m, ok = digits(z, 3, 2)
	case len(z) == 6 && z[3] == ':':
		m, ok = digits(z, 4, 2)
	default:
		ok = false
	}
	if !ok || h > 14 || m > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// month returns the month number of a three-letter English abbreviation.
func month(s string) int {
	for i, m := range months {
		if s == m {
			return i + 1
		}
	}
	return 0
}

// parseCLF reads "10/Oct/2000:13:55:36 -0700".
func parseCLF(s string) (int64, bool) {
	if len(s) < 20 {
		return 0, false
	}
	day, ok1 := digits(s, 0, 2)
	mon := month(s[3:6])
	year, ok2 := digits(s, 7, 4)
	if !ok1 || !ok2 || mon == 0 || s[11] != ':' || s[14] != ':' || s[17] != ':' {
		return 0, false
	}
	hh, ok3 := digits(s, 12, 2)
	mm, ok4 := digits(s, 15, 2)
	ss, ok5 := digits(s, 18, 2)
	if !ok3 || !ok4 || !ok5 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	off, ok := zone(s[20:])
	if !ok {
		return 0, false
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC)
	return t.UnixNano() - int64(off)*int64(time.Second), true
}

// parseEpoch reads a Unix time: up to 10 integer digits are seconds, 13
// milliseconds, 16 microseconds, 19 nanoseconds.
func parseEpoch(s string) (int64, bool) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n > 19 {
		return 0, false
	}
	ip, _ := digitsInt64(s[:n])
	frac := 0
	if n < len(s) {
		if s[n] != '.' {
			return 0, false
		}
		var end int
		frac, end = fraction(s, n+1)
		if end != len(s) {
			return 0, false
		}
	}
	switch {
	case n <= 10:
		return ip*int64(time.Second) + int64(frac), true
	case n == 13:
		return ip*int64(time.Millisecond) + int64(frac)/1000, true
	case n == 16:
		return ip*int64(time.Microsecond) + int64(frac)/1000000, true
	case n == 19:
		return ip, true
	}
	return 0, false
}

func digitsInt64(s string) (int64, bool) {
	var v int64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// parseBSD reads the RFC 3164 timestamp "Jan _2 15:04:05" (15 bytes), which
// has no year and no zone: it is read as UTC in the year of ref, or the year
// before when that would put it more than a day after ref.
func parseBSD(s string, ref int64) (int64, bool) {
	if len(s) < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return 0, false
	}
	mon := month(s[:3])
	day, ok1 := digits(s, 4, 2)
	if s[4] == ' ' {
		day, ok1 = digits(s, 5, 1)
	}
	hh, ok2 := digits(s, 7, 2)
	mm, ok3 := digits(s, 10, 2)
	ss, ok4 := digits(s, 13, 2)
	if mon == 0 || !ok1 || !ok2 || !ok3 || !ok4 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	year := time.Unix(0, ref).UTC().Year()
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC).UnixNano()
	if t > ref+int64(24*time.Hour) {
		t = time.Date(year-1, time.Month(mon), day, hh, mm, ss, 0, time.UTC).UnixNano()
	}
	return t, true
}
