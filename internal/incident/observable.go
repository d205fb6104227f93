// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/intel"
)

// ObservableKind is what an observable's value is. Kinds are stable
// lower-case words, stored as they are; the network and hash kinds have the
// same words as intel's indicator kinds.
type ObservableKind string

// The observable kinds.
const (
	ObservableIP       ObservableKind = "ip"       // one IPv4 or IPv6 address
	ObservableDomain   ObservableKind = "domain"   // a domain name
	ObservableURL      ObservableKind = "url"      // one URL, in intel's canonical form
	ObservableMD5      ObservableKind = "md5"      // a file hash, lower-case hex
	ObservableSHA1     ObservableKind = "sha1"     // a file hash, lower-case hex
	ObservableSHA256   ObservableKind = "sha256"   // a file hash, lower-case hex
	ObservableEmail    ObservableKind = "email"    // one e-mail address
	ObservableUser     ObservableKind = "user"     // an account: user, DOMAIN\user or user@domain
	ObservableHost     ObservableKind = "host"     // a computer's name (NetBIOS or DNS), lower case
	ObservableFilename ObservableKind = "filename" // a file's name or path
)

// ObservableKinds lists the kinds, in the order the UI shows them.
var ObservableKinds = []ObservableKind{ObservableIP, ObservableDomain, ObservableURL, ObservableMD5,
	ObservableSHA1, ObservableSHA256, ObservableEmail, ObservableUser, ObservableHost, ObservableFilename}

// Valid reports whether k is an observable kind.
func (k ObservableKind) Valid() bool {
	switch k {
	case ObservableIP, ObservableDomain, ObservableURL, ObservableMD5, ObservableSHA1, ObservableSHA256,
		ObservableEmail, ObservableUser, ObservableHost, ObservableFilename:
		return true
	}
	return false
}

// Network reports whether k is one of the kinds intel canonicalises and
// Defang changes (ip, domain, url, e-mail); hashes and the free-text kinds
// are shown as they are.
func (k ObservableKind) Network() bool {
	return k == ObservableIP || k == ObservableDomain || k == ObservableURL || k == ObservableEmail
}

// obsKindAliases are other names for the kinds that intel.ParseKind does not
// know or reads otherwise: for an incident, a "host" or "hostname" is a
// computer (TheHive's sense), not a domain (MISP's).
var obsKindAliases = map[string]ObservableKind{
	"host": ObservableHost, "hostname": ObservableHost, "computer": ObservableHost, "computer-name": ObservableHost,
	"user": ObservableUser, "username": ObservableUser, "user-name": ObservableUser, "account": ObservableUser,
	"user-account": ObservableUser, "target-user": ObservableUser,
	"filename": ObservableFilename, "file": ObservableFilename, "file-name": ObservableFilename,
	"filepath": ObservableFilename, "file-path": ObservableFilename, "path": ObservableFilename,
}

// ParseObservableKind returns the kind named s: a kind's own word or a
// common other name for it (MISP's ip-dst, email-src, sha-256; hostname and
// account …), ignoring case and surrounding blanks. Errors are fault.Invalid.
func ParseObservableKind(s string) (ObservableKind, error) {
	w := strings.ToLower(strings.TrimSpace(s))
	if k := ObservableKind(w); k.Valid() {
		return k, nil
	}
	if k, ok := obsKindAliases[w]; ok {
		return k, nil
	}
	if k, ok := intel.ParseKind(w); ok && ObservableKind(k).Valid() {
		return ObservableKind(k), nil
	}
	return "", fault.New(fault.Invalid, "observable.unknown_kind", "kind", obsClip(s))
}

// Observable is one thing seen in an incident that may be seen elsewhere: an
// address, a domain, a URL, a hash, an e-mail address, an account, a
// computer or a file name. Incidents that share an observable (same Kind and
// Value) are linked.
type Observable struct {
	Kind ObservableKind
	// Value is the canonical form ParseObservable returns: re-fanged and
	// canonicalised by intel for the network and hash kinds, trimmed for the
	// others (host names also in lower case).
	Value string
	// IOC marks the observable as an indicator of compromise, worth
	// matching in events; nothing here sets it, a responder does.
	IOC bool
	// Source says where it came from: ObservableSourceText,
	// ObservableSourceManual, ObservableSourceAlert or AlertSource(id).
	Source string
	// Note is free text for the responder; FromAlertFields puts the name of
	// the field the value came from.
	Note string
}

// Where observables come from (Observable.Source).
const (
	ObservableSourceText   = "text"   // found in free text by Extract
	ObservableSourceManual = "manual" // typed in by a responder
	ObservableSourceAlert  = "alert"  // read from alert fields by FromAlertFields; see AlertSource
)

// AlertSource returns the Source of an observable taken from alert id:
// "alert:123".
func AlertSource(id int64) string { return ObservableSourceAlert + ":" + strconv.FormatInt(id, 10) }

// Limits on observables, in bytes unless said otherwise.
const (
	// MaxObservableLen bounds the raw text ParseObservable reads (intel's
	// own limit for the network and hash kinds).
	MaxObservableLen = intel.MaxValueLen
	// MaxObservableNote bounds an observable's Note, in characters.
	MaxObservableNote = 2000
	// MaxObservableSource bounds an observable's Source.
	MaxObservableSource = 64
	obsMaxUser          = 256 // UPNs are at most 256 characters in Active Directory
	obsMaxHost          = 255 // a DNS name's limit
)

// ParseObservable checks raw as an observable of kind k and returns it in
// canonical form (Source, Note and IOC left empty for the caller):
//   - ip, domain, url, md5, sha1, sha256, email: intel.Normalize, which
//     trims, re-fangs ("hxxp://evil[.]example") and canonicalises; an ip may
//     carry a port ("192.0.2.1:443", "[2001:db8::1]:443"), which is dropped;
//   - user: "user", "DOMAIN\user" or "user@domain", case kept;
//   - host: a NetBIOS or DNS name, or an address, in lower case;
//   - filename: a file's name or full path, as written.
//
// The free-text kinds refuse control characters; user and host also refuse
// the invisible characters that change the direction of text, which a file
// name may carry as evidence of the right-to-left-override trick (Defang
// shows them). Errors are fault.Invalid with a message id of the observable
// or intel catalogue that says what is wrong with which value.
func ParseObservable(k ObservableKind, raw string) (Observable, error) {
	var v string
	var err error
	switch k {
	case ObservableIP:
		v, err = obsParseIP(raw)
	case ObservableDomain, ObservableURL, ObservableMD5, ObservableSHA1, ObservableSHA256, ObservableEmail:
		v, err = obsNormalize(intel.Kind(k), raw)
	case ObservableUser:
		v, err = obsParseUser(raw)
	case ObservableHost:
		v, err = obsParseHost(raw)
	case ObservableFilename:
		v, err = obsParseFilename(raw)
	default:
		return Observable{}, fault.New(fault.Invalid, "observable.unknown_kind", "kind", obsClip(string(k)))
	}
	if err != nil {
		return Observable{}, err
	}
	return Observable{Kind: k, Value: v}, nil
}

// Validate checks an observable before it is stored: its kind, that its
// value is in canonical form, and the length and characters of its source
// and note. Errors are fault.Invalid, or internal for a value that
// ParseObservable accepts but did not produce (a programming error).
func (o Observable) Validate() error {
	p, err := ParseObservable(o.Kind, o.Value)
	if err != nil {
		return err
	}
	if p.Value != o.Value {
		return fmt.Errorf("incident: observable %s %q is not in canonical form (%q)", o.Kind, o.Value, p.Value)
	}
	if len(o.Source) > MaxObservableSource || strings.IndexFunc(o.Source, func(r rune) bool {
		return r < '!' || r > '~'
	}) >= 0 {
		return fault.New(fault.Invalid, "observable.bad_source", "source", obsClip(o.Source))
	}
	if n := utf8.RuneCountInString(o.Note); n > MaxObservableNote {
		return fault.New(fault.Invalid, "observable.note_too_long", "max", MaxObservableNote, "got", n)
	}
	if !utf8.ValidString(o.Note) {
		return fault.New(fault.Invalid, "observable.note_invalid")
	}
	if i := strings.IndexFunc(o.Note, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }); i >= 0 {
		return fault.New(fault.Invalid, "observable.note_control", "pos", utf8.RuneCountInString(o.Note[:i])+1)
	}
	return nil
}

// obsNormalize is intel.Normalize applied until the value no longer
// changes: intel's form is not always reached in one pass ("0.a/ #" loses its
// fragment and then the blank before it; "[[.]]" re-fangs twice), and an
// observable's Value must parse back to itself.
func obsNormalize(k intel.Kind, raw string) (string, error) {
	v, err := intel.Normalize(k, raw)
	for range 8 {
		if err != nil {
			return "", err
		}
		var next string
		if next, err = intel.Normalize(k, v); err == nil && next == v {
			return v, nil
		}
		v = next
	}
	return "", fault.New(fault.Invalid, "observable.unstable", "kind", string(k), "value", obsClip(raw))
}

// obsParseIP drops a port and brackets, then leaves the rest to intel.
func obsParseIP(raw string) (string, error) {
	if len(raw) > MaxObservableLen {
		return intel.Normalize(intel.KindIP, raw) // intel says it is too long
	}
	s := strings.TrimFunc(Refang(raw), obsBlank)
	host := s
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 && (end == len(s)-1 || obsPort(s[end+1:])) {
			host = s[1:end]
		}
	} else if c := strings.LastIndexByte(s, ':'); c > 0 && strings.IndexByte(s[:c], ':') < 0 && obsPort(s[c:]) {
		host = s[:c]
	}
	if v, err := obsNormalize(intel.KindIP, host); err == nil {
		return v, nil
	}
	return obsNormalize(intel.KindIP, raw) // the error names what was typed
}

// obsPort reports whether s is ":" and a port number.
func obsPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	n, err := strconv.Atoi(s[1:])
	return err == nil && n >= 0 && n <= 65535 && s[1] != '+' && s[1] != '-'
}

// obsBlank reports blanks around a value: white space, and the zero-width
// characters and BOM that copying from documents leaves behind (as intel
// trims indicators).
func obsBlank(r rune) bool {
	return unicode.IsSpace(r) || r == 0x200B || r == 0x200C || r == 0x200D || r == 0xFEFF
}

// obsText trims raw and checks what all free-text kinds share: not empty, not
// too long, valid UTF-8, no control characters, and (unless bidi) no
// direction controls.
func obsText(k ObservableKind, raw string, max int, bidi bool) (string, error) {
	if len(raw) > MaxObservableLen {
		return "", fault.New(fault.Invalid, "observable.too_long", "kind", string(k), "max", max)
	}
	s := strings.TrimFunc(raw, obsBlank)
	switch {
	case s == "":
		return "", fault.New(fault.Invalid, "observable.empty", "kind", string(k))
	case len(s) > max:
		return "", fault.New(fault.Invalid, "observable.too_long", "kind", string(k), "max", max)
	case !utf8.ValidString(s):
		return "", fault.New(fault.Invalid, "observable.invalid_text", "kind", string(k))
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return "", fault.New(fault.Invalid, "observable.control_char", "kind", string(k), "value", obsClip(s),
				"pos", utf8.RuneCountInString(s[:i])+1)
		}
		if !bidi && obsBidi(r) {
			return "", fault.New(fault.Invalid, "observable.bidi_char", "kind", string(k), "value", obsClip(s),
				"pos", utf8.RuneCountInString(s[:i])+1, "code", fmt.Sprintf("U+%04X", r))
		}
	}
	return s, nil
}

// obsParseUser accepts "user", "DOMAIN\user" and "user@domain", each part
// non-empty.
func obsParseUser(raw string) (string, error) {
	s, err := obsText(ObservableUser, raw, obsMaxUser, false)
	if err != nil {
		return "", err
	}
	if d, u, ok := strings.Cut(s, `\`); ok {
		if strings.TrimFunc(d, obsBlank) == "" || strings.TrimFunc(u, obsBlank) == "" || strings.Contains(u, `\`) {
			return "", fault.New(fault.Invalid, "observable.user_form", "value", obsClip(s))
		}
	} else if at := strings.LastIndexByte(s, '@'); at >= 0 {
		if strings.TrimFunc(s[:at], obsBlank) == "" || strings.TrimFunc(s[at+1:], obsBlank) == "" {
			return "", fault.New(fault.Invalid, "observable.user_form", "value", obsClip(s))
		}
	}
	return s, nil
}

// obsHostBad lists the characters no computer name holds (DNS and NetBIOS
// rules together, kept loose enough for names as logs write them).
const obsHostBad = `/\@,;"'<>|*?()[]{}=!#&+~^` + "`"

// obsParseHost accepts a computer's name or address, in lower case without a
// trailing dot.
func obsParseHost(raw string) (string, error) {
	s, err := obsText(ObservableHost, raw, obsMaxHost, false)
	if err != nil {
		return "", err
	}
	for i, r := range s {
		if unicode.IsSpace(r) || strings.ContainsRune(obsHostBad, r) {
			return "", fault.New(fault.Invalid, "observable.host_bad_char", "value", obsClip(s),
				"pos", utf8.RuneCountInString(s[:i])+1, "char", string(r))
		}
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return a.Unmap().String(), nil
	}
	v := strings.ToLower(strings.TrimSuffix(s, "."))
	if v == "" || strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") || strings.Contains(v, "..") {
		return "", fault.New(fault.Invalid, "observable.host_empty_label", "value", obsClip(s))
	}
	return v, nil
}

// obsParseFilename accepts a file's name or path.
func obsParseFilename(raw string) (string, error) {
	s, err := obsText(ObservableFilename, raw, MaxObservableLen, true)
	if err != nil {
		return "", err
	}
	if strings.HasSuffix(s, `\`) || strings.HasSuffix(s, "/") {
		return "", fault.New(fault.Invalid, "observable.filename_dir", "value", obsClip(s))
	}
	return s, nil
}

// obsClip shortens a value quoted in a message.
func obsClip(s string) string {
	const max = 80
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max]) + "…"
}

// obsBidi reports the invisible characters that change the direction of
// text (the right-to-left override of "invoice\u202Efdp.exe" among them).
func obsBidi(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
