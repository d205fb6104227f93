// SPDX-License-Identifier: Apache-2.0

package intel

import (
	"maps"
	"net/netip"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// Hit is one indicator found in an event.
type Hit struct {
	// Indicator is the set's own copy: read it, never change it. It stays
	// valid after the set is replaced.
	Indicator *Indicator
	// Field is the name of the event field that carried it ("" for
	// MatchValue).
	Field string
	// Value is the text in the field that matched: the whole value, or the
	// part of it that was compared (an address without its port, the host
	// of a URL, one entry of a list). It shares the event's memory.
	Value string
}

// FieldKinds says which event fields MatchEvent looks at and what each
// carries: an indicator kind or KindHosts or KindHashes. A field of kind
// ip is compared with ip and cidr indicators; domain with domain
// indicators (and, when it holds an address, as ip); url with url
// indicators and its host as a domain or address; email with email
// indicators and its domain part as a domain; md5, sha1 and sha256 with the
// hash indicators.
type FieldKinds map[string]Kind

// defaultFieldKinds lists the fields that carry indicators in the events
// internal/normalize produces (canonical names) and in JSON it leaves in
// ECS names.
var defaultFieldKinds = FieldKinds{
	// Windows: Sysmon, Security, Terminal Services.
	"SourceIp": KindIP, "DestinationIp": KindIP, "IpAddress": KindIP, "SourceAddress": KindIP,
	"DestAddress": KindIP, "ClientAddress": KindIP, "ClientIP": KindIP, "Address": KindIP,
	"SourceHostname": KindDomain, "DestinationHostname": KindDomain, "QueryName": KindDomain,
	"QueryResults": KindHosts, "md5": KindMD5, "sha1": KindSHA1, "sha256": KindSHA256, "Hashes": KindHashes, "Hash": KindHashes,
	// Linux: sshd (SourceIp above), auditd, PAM.
	"addr": KindIP, "rhost": KindDomain,
	// Zeek.
	"id.orig_h": KindIP, "id.resp_h": KindIP, "query": KindDomain, "answers": KindHosts,
	"host": KindDomain, "uri": KindURL, "referrer": KindURL, "server_name": KindDomain,
	"tx_hosts": KindHosts, "rx_hosts": KindHosts, "san.dns": KindHosts,
	"mailfrom": KindEmail, "rcptto": KindEmail, "from": KindEmail, "to": KindEmail, "reply_to": KindEmail,
	"helo": KindDomain,
	// Suricata EVE.
	"src_ip": KindIP, "dest_ip": KindIP, "dns.rrname": KindDomain, "dns.rdata": KindHosts,
	"http.hostname": KindDomain, "http.url": KindURL, "http.http_refer": KindURL, "tls.sni": KindDomain,
	"email.from": KindEmail, "email.to": KindEmail,
	// Firewalls (FortiGate after renaming).
	"dst_ip": KindIP, "qname": KindDomain,
	// Sigma's dns, proxy and webserver categories.
	"answer": KindHosts, "c-uri": KindURL, "cs-host": KindDomain, "r-dns": KindDomain,
	"c-ip": KindIP, "cs-referrer": KindURL, "cs-referer": KindURL,
	// ECS names, in JSON that is not a Windows event.
	"source.ip": KindIP, "destination.ip": KindIP, "client.ip": KindIP, "server.ip": KindIP,
	"related.ip": KindHosts, "related.hosts": KindHosts, "related.hash": KindHashes,
	"dns.question.name": KindDomain, "url.full": KindURL, "url.original": KindURL,
	"url.domain": KindDomain, "destination.domain": KindDomain, "server.domain": KindDomain, "tls.client.server_name": KindDomain,
	"file.hash.md5": KindMD5, "file.hash.sha1": KindSHA1, "file.hash.sha256": KindSHA256,
	"process.hash.md5": KindMD5, "process.hash.sha1": KindSHA1, "process.hash.sha256": KindSHA256,
	"email.from.address": KindEmail, "email.to.address": KindEmail, "email.sender.address": KindEmail,
}

// DefaultFieldKinds returns the fields MatchEvent looks at unless
// WithFieldKinds says otherwise: a new map the caller may change.
func DefaultFieldKinds() FieldKinds { return maps.Clone(defaultFieldKinds) }

// hostFields hold the host that a path-only URL field (Zeek's uri,
// Suricata's http.url, c-uri copied from them) was requested from, in the
// order they are tried.
var hostFields = []event.FieldID{
	event.MustIntern("cs-host"), event.MustIntern("http.hostname"), event.MustIntern("host"),
}

// MatchEvent calls fn once for each indicator found in ev's fields (see
// FieldKinds), in field order; an indicator found in several fields is
// reported once, for the first. Expired indicators never match. It does
// not allocate when nothing matches, except for host names with non-ASCII
// letters, IPv6 addresses with a zone and URLs longer than 1 KiB (when
// the set lists URLs); fn must not keep the Hit's Value past the event's
// life.
func (s *Set) MatchEvent(ev *event.Event, fn func(Hit)) {
	if s == nil || len(s.list) == 0 {
		return
	}
	m := matcher{s: s, fn: fn, ev: ev}
	for i := range ev.Fields {
		f := &ev.Fields[i]
		if int(f.ID) >= len(s.fields) || f.Value == "" {
			continue
		}
		if k := s.fields[f.ID]; k != "" {
			m.id = f.ID
			m.value(k, f.Value)
		}
	}
}

// MatchValue calls fn for each indicator found in value read as a field of
// kind k (see FieldKinds): for checking one value by hand and for hunting
// over stored events. A url value that is only a path matches nothing.
func (s *Set) MatchValue(k Kind, value string, fn func(Hit)) {
	if s == nil || len(s.list) == 0 || !k.validField() {
		return
	}
	m := matcher{s: s, fn: fn}
	m.value(k, value)
}

// matcher is the state of one MatchEvent call; it lives on the stack.
type matcher struct {
	s       *Set
	fn      func(Hit)
	ev      *event.Event // nil for MatchValue
	id      event.FieldID
	now     time.Time
	haveNow bool
	seen    [8]*Indicator
	nseen   int
	more    []*Indicator // seen beyond the first 8
}

// hit reports ind unless it expired or was reported for this event.
func (m *matcher) hit(ind *Indicator, text string) {
	if !ind.Expires.IsZero() {
		if !m.haveNow {
			m.now, m.haveNow = m.s.now(), true
		}
		if ind.expired(m.now) {
			return
		}
	}
	for _, p := range m.seen[:m.nseen] {
		if p == ind {
			return
		}
	}
	for _, p := range m.more {
		if p == ind {
			return
		}
	}
	if m.nseen < len(m.seen) {
		m.seen[m.nseen] = ind
		m.nseen++
	} else {
		m.more = append(m.more, ind)
	}
	m.fn(Hit{Indicator: ind, Field: m.id.Name(), Value: text})
}

func (m *matcher) value(k Kind, v string) {
	switch k {
	case KindIP, KindCIDR, KindDomain:
		m.host(trimSpace(v))
	case KindURL:
		m.url(trimSpace(v))
	case KindMD5, KindSHA1, KindSHA256:
		m.hash(trimSpace(v))
	case KindEmail:
		m.emails(v)
	case KindHosts:
		for v != "" {
			var tok string
			tok, v = nextToken(v, ",; \t\r\n|")
			if tok = unquote(tok); tok != "" {
				m.host(tok)
			}
		}
	case KindHashes:
		m.hashList(v)
	}
}

// host checks a domain name or an address, either maybe with a port.
func (m *matcher) host(v string) {
	h := stripPort(v)
	if h == "" {
		return
	}
	if maybeAddr(h) {
		if a, err := netip.ParseAddr(h); err == nil {
			m.addr(a, h)
			return
		}
	}
	m.domain(h)
}

// maybeAddr reports whether h may be an address: only digits and dots, or
// a colon. It saves parsing host names, whose parse error allocates.
func maybeAddr(h string) bool {
	if strings.IndexByte(h, ':') >= 0 {
		return true
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// stripPort returns v without a ":port" ("1.2.3.4:443", "[::1]:80",
// "example.com:8080"); a bare IPv6 address is left as it is.
func stripPort(v string) string {
	if strings.HasPrefix(v, "[") {
		if end := strings.IndexByte(v, ']'); end > 0 {
			return v[1:end]
		}
		return ""
	}
	if c := strings.IndexByte(v, ':'); c >= 0 && strings.IndexByte(v[c+1:], ':') < 0 {
		return v[:c]
	}
	return v
}

func (m *matcher) addr(a netip.Addr, text string) {
	if a.Zone() != "" {
		a = a.WithZone("")
	}
	a = a.Unmap()
	if len(m.s.ips) > 0 {
		if ind, ok := m.s.ips[a]; ok {
			m.hit(ind, text)
		}
	}
	t := &m.s.v6
	if a.Is4() {
		t = &m.s.v4
	}
	if len(t.segs) > 0 {
		for _, ind := range t.lookup(addrNum(a)) {
			m.hit(ind, text)
		}
	}
}

// domain checks host name h and each name above it with two labels or more
// (a.b.evil.example, b.evil.example, evil.example).
func (m *matcher) domain(h string) {
	if len(m.s.domains) == 0 || strings.IndexByte(h, '.') < 0 {
		return
	}
	var arr [256]byte
	b, ok := appendHostLower(arr[:0], h)
	if !ok {
		return
	}
	for i := 0; ; {
		if ind, ok := m.s.domains[string(b[i:])]; ok {
			m.hit(ind, h)
		}
		j := indexByte(b[i:], '.')
		if j < 0 {
			return
		}
		i += j + 1
		if indexByte(b[i:], '.') < 0 {
			return // one label left: no indicator is a single label
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func (m *matcher) url(v string) {
	if len(m.s.urls) == 0 { // only the host can match: skip the canonical form
		if strings.HasPrefix(v, "/") {
			return // the host is in a field of its own
		}
		if i := strings.Index(v, "://"); i >= 0 {
			v = v[i+3:]
		}
		if end := strings.IndexAny(v, "/?#"); end >= 0 {
			v = v[:end]
		}
		if at := strings.LastIndexByte(v, '@'); at >= 0 {
			v = v[at+1:]
		}
		m.host(v)
		return
	}
	var arr [1024]byte
	var b []byte
	var p urlParts
	var ok bool
	pathOnly := false
	switch {
	case strings.HasPrefix(v, "/"):
		host := m.hostOf()
		if host == "" {
			return
		}
		pathOnly = true
		b, p, ok = appendURLParts(arr[:0], "http", host, v)
	case strings.Contains(v, "://"):
		b, p, ok = appendCanonURL(arr[:0], v)
	default: // host:port of a proxy CONNECT, or a URL written without its scheme
		end := strings.IndexAny(v, "/?#")
		if end < 0 {
			end = len(v)
		}
		b, p, ok = appendURLParts(arr[:0], "http", v[:end], v[end:])
	}
	if !ok {
		return
	}
	if len(m.s.urls) > 0 {
		if ind, found := m.s.urls[string(b)]; found {
			m.hit(ind, v)
		}
		if p.query >= 0 {
			if ind, found := m.s.urls[string(b[:p.query])]; found {
				m.hit(ind, v)
			}
		}
	}
	if !pathOnly {
		m.host(p.host)
	}
}

// hostOf returns the host a path-only URL in the event was requested from.
func (m *matcher) hostOf() string {
	if m.ev == nil {
		return ""
	}
	for _, id := range hostFields {
		if h, ok := m.ev.Get(id); ok && h != "" {
			return h
		}
	}
	return ""
}

func (m *matcher) hash(v string) {
	if len(m.s.hashes) == 0 {
		return
	}
	switch len(v) {
	case 32, 40, 64:
	default:
		return
	}
	var arr [64]byte
	for i := 0; i < len(v); i++ {
		arr[i] = lowerByte(v[i])
	}
	if ind, ok := m.s.hashes[string(arr[:len(v)])]; ok {
		m.hit(ind, v)
	}
}

// hashList checks "SHA1=…,MD5=…,SHA256=…,IMPHASH=…" and plain lists of
// hashes.
func (m *matcher) hashList(v string) {
	for v != "" {
		var tok string
		tok, v = nextToken(v, ",; \t")
		alg, h, ok := strings.Cut(unquote(tok), "=")
		if !ok {
			h = alg
		} else if !strings.EqualFold(alg, "md5") && !strings.EqualFold(alg, "sha1") && !strings.EqualFold(alg, "sha256") {
			continue // IMPHASH has an MD5's length but is no file hash
		}
		m.hash(h)
	}
}

// emails checks e-mail addresses in v: one address, "Name <address>", or
// a list of them separated by commas or semicolons.
func (m *matcher) emails(v string) {
	for v != "" {
		var tok string
		tok, v = nextToken(v, ",;")
		tok = unquote(trimSpace(tok))
		if lt := strings.IndexByte(tok, '<'); lt >= 0 {
			tok = tok[lt+1:]
			if gt := strings.IndexByte(tok, '>'); gt >= 0 {
				tok = tok[:gt]
			}
		}
		tok = trimSpace(tok)
		if len(tok) > 7 && strings.EqualFold(tok[:7], "mailto:") {
			tok = tok[7:]
		}
		at := strings.LastIndexByte(tok, '@')
		if at <= 0 || at == len(tok)-1 {
			continue
		}
		if len(m.s.emails) > 0 && len(tok) <= 320 {
			var arr [320]byte
			b := arr[:0]
			for i := 0; i < len(tok); i++ {
				b = append(b, lowerByte(tok[i]))
			}
			if ind, ok := m.s.emails[string(b)]; ok {
				m.hit(ind, tok)
			}
		}
		m.domain(tok[at+1:])
	}
}

// unquote removes what a list rendered as a JSON array puts around an
// entry (intake keeps Zeek's ["10.0.0.4","10.0.0.5"] as it is): a '[' before
// a quote, a ']' after one, and the quotes.
func unquote(tok string) string {
	if strings.HasPrefix(tok, `["`) {
		tok = tok[1:]
	}
	if strings.HasSuffix(tok, `"]`) {
		tok = tok[:len(tok)-1]
	}
	if len(tok) >= 2 && tok[0] == '"' && tok[len(tok)-1] == '"' {
		tok = tok[1 : len(tok)-1]
	}
	return tok
}

// nextToken returns the text before the first byte of seps in v, and the
// rest after it.
func nextToken(v, seps string) (tok, rest string) {
	if i := strings.IndexAny(v, seps); i >= 0 {
		return v[:i], v[i+1:]
	}
	return v, ""
}

func trimSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}
