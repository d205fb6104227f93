// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"bytes"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/koban-csirt/koban/internal/fault"
)

// cleanCustodyNote cleans a custody note or reason and checks its length; a
// required one may not be empty.
func cleanCustodyNote(s string, required bool) (string, error) {
	s = cleanEvidenceText(s, true)
	if required && s == "" {
		return "", fault.InvalidField("reason", "evidence.reason_missing")
	}
	if utf8.RuneCountInString(s) > maxCustodyNoteLen {
		return "", fault.InvalidField("reason", "evidence.reason_too_long", "max", maxCustodyNoteLen)
	}
	return s, nil
}

// cleanEvidenceText makes free text storable: valid UTF-8, NFC, no control
// characters other than line breaks and tabs (and those only when
// multiline), CRLF as LF, trimmed.
func cleanEvidenceText(s string, multiline bool) string {
	s = norm.NFC.String(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// windowsDeviceNames are device names Windows will not create as files,
// with or without an extension.
var windowsDeviceNames = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true,
	"CONOUT$": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true,
	"COM8": true, "COM9": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true,
	"LPT7": true, "LPT8": true, "LPT9": true}

// CleanName turns a client's file name into one safe to store, show and
// offer back as a download name on any system: the last element of any
// path (either separator), valid UTF-8 in NFC, without control or
// invisible formatting characters (such as the right-to-left override
// that disguises "exe"), without characters Windows refuses, not a
// device name, not "." or "..", without leading or trailing dots and
// spaces, at most 255 bytes with its extension kept. A name with nothing
// left becomes "evidence".
func CleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = norm.NFC.String(name)
	var b strings.Builder
	b.Grow(len(name))
	space := false
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	// Removing invisible characters may have brought together what
	// composes.
	name = shortenFileName(trimFileName(norm.NFC.String(b.String())))
	if isWindowsDeviceName(name) {
		name = shortenFileName("_" + name)
	}
	if name == "" {
		return "evidence"
	}
	return name
}

// isWindowsDeviceName reports whether Windows would take name for a device.
func isWindowsDeviceName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	return windowsDeviceNames[strings.ToUpper(strings.TrimSpace(stem))]
}

// trimFileName removes what may not start or end a file name.
func trimFileName(s string) string { return strings.Trim(s, ". ") }

// shortenFileName cuts a name longer than maxEvidenceNameLen bytes, keeping a short
// extension, at a boundary that leaves valid NFC text.
func shortenFileName(name string) string {
	if len(name) <= maxEvidenceNameLen {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 || len(ext) == len(name) {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	stem = cutAtNFCBoundary(stem, maxEvidenceNameLen-len(ext))
	return trimFileName(trimFileName(stem) + ext)
}

// cutAtNFCBoundary returns the longest prefix of s of at most n bytes that ends at a
// normalisation boundary, so that the prefix is NFC when s is.
func cutAtNFCBoundary(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !(utf8.RuneStart(s[i]) && norm.NFC.FirstBoundaryInString(s[i:]) == 0) {
		i--
	}
	return s[:i]
}

// evidenceSniffer keeps the first bytes read through it.
type evidenceSniffer struct {
	r    io.Reader
	head []byte
}

func (s *evidenceSniffer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if rem := evidenceSniffLen - len(s.head); rem > 0 && n > 0 {
		s.head = append(s.head, p[:min(n, rem)]...)
	}
	return n, err
}

// evidenceMagic are formats responders upload that http.DetectContentType does not
// know.
var evidenceMagic = []struct {
	prefix []byte
	typ    string
}{
	{[]byte("ElfFile\x00"), "application/x-ms-evtx"},
	{[]byte{0xd4, 0xc3, 0xb2, 0xa1}, "application/vnd.tcpdump.pcap"},
	{[]byte{0xa1, 0xb2, 0xc3, 0xd4}, "application/vnd.tcpdump.pcap"},
	{[]byte{0x0a, 0x0d, 0x0d, 0x0a}, "application/x-pcapng"},
	{[]byte{0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1}, "application/x-ole-storage"}, // .msg, .doc, .xls
}

// sniffEvidenceType names the content's type from its first bytes. The name only
// refines a sniffed text type: plain text that starts like a mail header
// in a file called *.eml is message/rfc822.
func sniffEvidenceType(head []byte, name string) string {
	for _, m := range evidenceMagic {
		if bytes.HasPrefix(head, m.prefix) {
			return m.typ
		}
	}
	ct := http.DetectContentType(head)
	if strings.HasPrefix(ct, "text/plain") && strings.EqualFold(path.Ext(name), ".eml") && looksLikeMailHeader(head) {
		return "message/rfc822"
	}
	return ct
}

// looksLikeMailHeader reports whether text starts with an RFC 5322 header field.
func looksLikeMailHeader(head []byte) bool {
	line, _, _ := bytes.Cut(head, []byte("\n"))
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
