// SPDX-License-Identifier: Apache-2.0

package evtx

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// BinXml value types.
const (
	typeNull       = 0x00
	typeString     = 0x01
	typeAnsiString = 0x02
	typeInt8       = 0x03
	typeUint8      = 0x04
	typeInt16      = 0x05
	typeUint16     = 0x06
	typeInt32      = 0x07
	typeUint32     = 0x08
	typeInt64      = 0x09
	typeUint64     = 0x0a
	typeReal32     = 0x0b
	typeReal64     = 0x0c
	typeBool       = 0x0d
	typeBinary     = 0x0e
	typeGUID       = 0x0f
	typeSizeT      = 0x10
	typeFileTime   = 0x11
	typeSysTime    = 0x12
	typeSID        = 0x13
	typeHex32      = 0x14
	typeHex64      = 0x15
	typeEvtHandle  = 0x20
	typeBinXml     = 0x21
	typeEvtXml     = 0x23
	typeArray      = 0x80
)

// fixedSize is the byte size of one value of each fixed-size type (0 for
// variable-size or unknown types).
var fixedSize = [32]uint8{
	typeInt8: 1, typeUint8: 1, typeInt16: 2, typeUint16: 2, typeInt32: 4, typeUint32: 4,
	typeInt64: 8, typeUint64: 8, typeReal32: 4, typeReal64: 8, typeBool: 4, typeGUID: 16,
	typeFileTime: 8, typeSysTime: 16, typeHex32: 4, typeHex64: 8,
}

const hexUpper = "0123456789ABCDEF"

// appendValue renders a value of type t held in b (little-endian, as stored)
// the way evtx_dump renders it. A size that does not fit the type is shown
// as upper-case hex so that nothing is lost or misread.
func appendValue(dst []byte, t uint8, b []byte) []byte {
	switch t {
	case typeNull:
		return dst
	case typeString:
		return trimRightSpace(appendUTF16(dst, b), len(dst))
	case typeEvtXml:
		return appendUTF16(dst, b)
	case typeAnsiString:
		return appendANSI(dst, b)
	case typeBinary:
		return appendHexUpper(dst, b)
	case typeSID:
		if d, ok := appendSID(dst, b); ok {
			return d
		}
		return appendHexUpper(dst, b)
	case typeSizeT, typeEvtHandle:
		switch len(b) {
		case 4:
			return appendHex(dst, uint64(binary.LittleEndian.Uint32(b)))
		case 8:
			return appendHex(dst, binary.LittleEndian.Uint64(b))
		}
		return appendHexUpper(dst, b)
	}
	if t&typeArray != 0 {
		return appendArray(dst, t&^typeArray, b)
	}
	if t < uint8(len(fixedSize)) && fixedSize[t] != 0 && len(b) == int(fixedSize[t]) {
		return appendFixed(dst, t, b)
	}
	return appendHexUpper(dst, b)
}

// appendFixed renders one fixed-size value; len(b) is the type's size.
func appendFixed(dst []byte, t uint8, b []byte) []byte {
	le := binary.LittleEndian
	switch t {
	case typeInt8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10)
	case typeUint8:
		return strconv.AppendUint(dst, uint64(b[0]), 10)
	case typeInt16:
		return strconv.AppendInt(dst, int64(int16(le.Uint16(b))), 10)
	case typeUint16:
		return strconv.AppendUint(dst, uint64(le.Uint16(b)), 10)
	case typeInt32:
		return strconv.AppendInt(dst, int64(int32(le.Uint32(b))), 10)
	case typeUint32:
		return strconv.AppendUint(dst, uint64(le.Uint32(b)), 10)
	case typeInt64:
		return strconv.AppendInt(dst, int64(le.Uint64(b)), 10)
	case typeUint64:
		return strconv.AppendUint(dst, le.Uint64(b), 10)
	case typeReal32:
		return appendFloat(dst, float64(math.Float32frombits(le.Uint32(b))), 32)
	case typeReal64:
		return appendFloat(dst, math.Float64frombits(le.Uint64(b)), 64)
	case typeBool:
		if le.Uint32(b) != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case typeGUID:
		return appendGUID(dst, b)
	case typeFileTime:
		return appendFileTime(dst, le.Uint64(b))
	case typeSysTime:
		return appendSysTime(dst, b)
	case typeHex32:
		return appendHex(dst, uint64(le.Uint32(b)))
	case typeHex64:
		return appendHex(dst, le.Uint64(b))
	}
	return appendHexUpper(dst, b)
}

// appendArray renders an array value (type 0x80|t) as its items joined by
// commas.
func appendArray(dst []byte, t uint8, b []byte) []byte {
	switch t {
	case typeString:
		return appendStringArray(dst, b, 2)
	case typeAnsiString:
		return appendStringArray(dst, b, 1)
	case typeSID:
		for first := true; len(b) >= 8; first = false {
			n := 8 + 4*int(b[1])
			if n > len(b) {
				break
			}
			if !first {
				dst = append(dst, ',')
			}
			dst, _ = appendSID(dst, b[:n])
			b = b[n:]
		}
		return dst
	case typeSizeT:
		w := 8
		if len(b)%8 != 0 {
			w = 4
		}
		for i := 0; i+w <= len(b); i += w {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, typeSizeT, b[i:i+w])
		}
		return dst
	}
	if t >= uint8(len(fixedSize)) || fixedSize[t] == 0 {
		return appendHexUpper(dst, b)
	}
	w := int(fixedSize[t])
	for i := 0; i+w <= len(b); i += w {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendFixed(dst, t, b[i:i+w])
	}
	return dst
}

// appendStringArray renders NUL-terminated strings (UTF-16 when unit is 2,
// ANSI when 1) joined by commas.
func appendStringArray(dst, b []byte, unit int) []byte {
	first := true
	for len(b) >= unit {
		end := len(b)
		for i := 0; i+unit <= len(b); i += unit {
			if b[i] == 0 && (unit == 1 || b[i+1] == 0) {
				end = i
				break
			}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if unit == 2 {
			dst = appendUTF16(dst, b[:end])
		} else {
			dst = appendANSI(dst, b[:end])
		}
		if end+unit > len(b) {
			break
		}
		b = b[end+unit:]
	}
	return dst
}

// appendUTF16 decodes UTF-16LE up to the first NUL unit into UTF-8. Unpaired
// surrogates become U+FFFD.
func appendUTF16(dst, b []byte) []byte {
	n := len(b) &^ 1
	if cap(dst)-len(dst) < n/2 {
		dst = growBytes(dst, n/2)
	}
	for i := 0; i < n; i += 2 {
		c := rune(b[i]) | rune(b[i+1])<<8
		if c < 0x80 {
			if c == 0 {
				break
			}
			dst = append(dst, byte(c))
			continue
		}
		if c >= 0xd800 && c < 0xdc00 && i+3 < n {
			c2 := rune(b[i+2]) | rune(b[i+3])<<8
			if c2 >= 0xdc00 && c2 < 0xe000 {
				c = 0x10000 + (c-0xd800)<<10 + (c2 - 0xdc00)
				i += 2
			}
		}
		dst = utf8.AppendRune(dst, c) // surrogates left alone become U+FFFD
	}
	return dst
}

// trimRightSpace drops trailing white space from b[from:], as evtx_dump does
// for string values (Sysmon's command lines often end in a space).
func trimRightSpace(b []byte, from int) []byte {
	for len(b) > from {
		c := b[len(b)-1]
		if c < utf8.RuneSelf {
			if c != ' ' && (c < '\t' || c > '\r') {
				break
			}
			b = b[:len(b)-1]
			continue
		}
		r, n := utf8.DecodeLastRune(b[from:])
		if !unicode.IsSpace(r) {
			break
		}
		b = b[:len(b)-n]
	}
	return b
}

func growBytes(b []byte, n int) []byte {
	nb := make([]byte, len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

// cp1252 maps Windows-1252 bytes 0x80–0x9f to runes; other high bytes are
// Latin-1. Evtx_dump decodes ANSI strings with this code page by default.
var cp1252 = [32]rune{
	0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
	0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178,
}

// appendANSI decodes a Windows-1252 string up to its first NUL.
func appendANSI(dst, b []byte) []byte {
	for _, c := range b {
		switch {
		case c == 0:
			return dst
		case c < 0x80:
			dst = append(dst, c)
		case c < 0xa0:
			dst = utf8.AppendRune(dst, cp1252[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

func appendHexUpper(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendHex renders v as 0x followed by lower-case hex without padding.
func appendHex(dst []byte, v uint64) []byte {
	dst = append(dst, '0', 'x')
	return strconv.AppendUint(dst, v, 16)
}

// appendGUID renders 16 bytes as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX
// (upper case, no braces; the first three groups little-endian).
func appendGUID(dst, b []byte) []byte {
	for i, j := range [16]uint8{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hexUpper[b[j]>>4], hexUpper[b[j]&15])
	}
	return dst
}

// appendSID renders a binary SID as S-R-A-S1-…; ok is false when b is not
// one.
func appendSID(dst, b []byte) ([]byte, bool) {
	if len(b) < 8 || len(b) < 8+4*int(b[1]) {
		return dst, false
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(b[0]), 10)
	dst = append(dst, '-')
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	dst = strconv.AppendUint(dst, auth, 10)
	for i := 0; i < int(b[1]); i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return dst, true
}

// appendFloat renders a float in the shortest form that reads back the same,
// without an exponent for ordinary magnitudes.
func appendFloat(dst []byte, v float64, bits int) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-5 || a >= 1e21) {
		return strconv.AppendFloat(dst, v, 'e', -1, bits)
	}
	return strconv.AppendFloat(dst, v, 'f', -1, bits)
}

// FILETIME: 100 ns ticks since 1601-01-01 UTC.
const (
	ticksPerSecond   = 10_000_000
	filetimeUnixDiff = 11_644_473_600 // seconds from 1601-01-01 to 1970-01-01
)

// filetimeUnixNano converts a FILETIME to Unix nanoseconds, saturating
// outside the range of int64.
func filetimeUnixNano(ft uint64) int64 {
	const minTicks = filetimeUnixDiff*ticksPerSecond + math.MinInt64/100
	const maxTicks = filetimeUnixDiff*ticksPerSecond + math.MaxInt64/100
	switch {
	case ft < minTicks:
		return math.MinInt64
	case ft > maxTicks:
		return math.MaxInt64
	}
	return (int64(ft) - filetimeUnixDiff*ticksPerSecond) * 100
}

// appendFileTime renders a FILETIME as 2006-01-02T15:04:05.000000Z
// (microseconds, truncated).
func appendFileTime(dst []byte, ft uint64) []byte {
	secs := int64(ft / ticksPerSecond)
	micros := int((ft % ticksPerSecond) / 10)
	days := secs / 86400
	rem := int(secs % 86400)
	y, m, d := civil(days - 134774) // days from 1601-01-01 to 1970-01-01
	return appendDateTime(dst, y, m, d, rem/3600, rem/60%60, rem%60, micros)
}

// appendSysTime renders a SYSTEMTIME (year, month, weekday, day, hour,
// minute, second, milliseconds as 16-bit fields) like appendFileTime.
func appendSysTime(dst, b []byte) []byte {
	le := binary.LittleEndian
	f := func(i int) int { return int(le.Uint16(b[2*i:])) }
	return appendDateTime(dst, int64(f(0)), f(1), f(3), f(4), f(5), f(6), f(7)*1000)
}

func appendDateTime(dst []byte, y int64, mo, d, h, mi, s, micros int) []byte {
	if y < 0 || y > 99999 {
		y = 0
	}
	if y > 9999 {
		dst = strconv.AppendInt(dst, y/10000, 10)
		y %= 10000
	}
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	dst = append2(dst, mo)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, '.')
	micros %= 1_000_000
	dst = append(dst, byte('0'+micros/100000), byte('0'+micros/10000%10), byte('0'+micros/1000%10),
		byte('0'+micros/100%10), byte('0'+micros/10%10), byte('0'+micros%10), 'Z')
	return dst
}

// append2 writes v (taken modulo 100) as two digits.
func append2(dst []byte, v int) []byte {
	v %= 100
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's algorithm).
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}
