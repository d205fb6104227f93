// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// accessLog reads an Apache/nginx access log line in the Common or Combined
// Log Format, optionally with a leading "vhost:port" (vhost_combined):
//
//	host ident user [10/Oct/2000:13:55:36 -0700] "GET /a?b HTTP/1.1" 200 2326 "referer" "agent"
//
// into the Sigma webserver category's names: c-ip, cs-username, cs-method,
// cs-uri-stem (the path), cs-uri-query, cs-version, sc-status, sc-bytes,
// cs-referer, cs-user-agent and cs-host. cs-uri-query holds the whole
// request target (path and query), not only the query: SigmaHQ's
// webserver rules match paths in cs-uri-query ("cs-uri-query|endswith:
// '/mgmt/tm/util/bash'"). It returns the time text, or "" when the line is
// not an access log line (and then sets nothing).
func (n *Normalizer) accessLog(e *event.Event, sc *scan, line string) string {
	lb := strings.Index(line, " [")
	if lb <= 0 || lb > 512 {
		return ""
	}
	rb := strings.Index(line[lb:], "] \"")
	if rb < 0 {
		return ""
	}
	rb += lb
	pre, stamp, rest := line[:lb], line[lb+2:rb], line[rb+3:]
	if _, ok := parseCLF(stamp); !ok {
		return ""
	}
	var vhost, host, user string
	switch strings.Count(pre, " ") {
	case 2:
		host, pre, _ = strings.Cut(pre, " ")
	case 3:
		vhost, pre, _ = strings.Cut(pre, " ")
		host, pre, _ = strings.Cut(pre, " ")
	default:
		return ""
	}
	_, user, _ = strings.Cut(pre, " ")
	req, rest, ok := cutRequest(rest)
	if !ok {
		return ""
	}
	rest = strings.TrimPrefix(rest, " ")
	status, rest, _ := strings.Cut(rest, " ")
	if _, ok := digits(status, 0, 3); !ok || len(status) != 3 {
		return ""
	}
	size, rest, _ := strings.Cut(rest, " ")
	var referer, agent string
	if r, ok := strings.CutPrefix(rest, `"`); ok {
		referer, rest, _ = cutQuoted(r)
		if r, ok := strings.CutPrefix(strings.TrimPrefix(rest, " "), `"`); ok {
			agent, _, _ = cutQuoted(r)
		}
	}

	n.setAccess(e, sc, accessRecord{host, user, req, status, size, referer, agent, vhost})
	return stamp
}

// accessRecord is an access log line split into its parts.
type accessRecord struct {
	host, user, req, status, size, referer, agent, vhost string
}

// setAccess sets the webserver fields of an access log record.
func (n *Normalizer) setAccess(e *event.Event, sc *scan, r accessRecord) {
	host, user, req, status, size, referer, agent, vhost := r.host, r.user, r.req, r.status, r.size, r.referer, r.agent, r.vhost
	n.set(e, sc, sCIP, host)
	if user != "-" && user != "" {
		n.set(e, sc, sCsUsername, user)
	}
	method, target, version := splitRequest(req)
	n.setIfValue(e, sc, sCsMethodProxy, method)
	if target != "" {
		stem, _, _ := strings.Cut(target, "?")
		n.set(e, sc, sCsURIStem, stem)
		n.set(e, sc, sCsURIQuery, target)
	}
	n.setIfValue(e, sc, sCsVersion, version)
	n.set(e, sc, sScStatus, status)
	if size != "-" && size != "" {
		n.set(e, sc, sScBytes, size)
	}
	n.setIfValue(e, sc, sCsReferer, referer)
	n.setIfValue(e, sc, sCsUserAgent, agent)
	if vhost != "" {
		h, _, _ := strings.Cut(vhost, ":")
		n.set(e, sc, sCsHost, h)
	}
}

// cutQuoted returns the text up to the closing '"' (Apache escapes quotes
// inside as \") and what follows it.
func cutQuoted(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

// cutRequest returns the request line up to its closing quote and what
// follows. Apache escapes quotes inside, but Tomcat and others do not, so
// the closing quote is the first one followed by a status code.
func cutRequest(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			if _, ok := digits(s, i+2, 3); ok && s[i+1] == ' ' && (i+5 == len(s) || s[i+5] == ' ') {
				return s[:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

// splitRequest splits "GET /path HTTP/1.1"; a request that is not one (TLS
// bytes sent to a plain port, "-") gives no method.
func splitRequest(req string) (method, target, version string) {
	m, rest, ok := strings.Cut(req, " ")
	if !ok || m == "" || len(m) > 16 {
		return "", "", ""
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return "", "", ""
		}
	}
	target = rest
	if i := strings.LastIndexByte(rest, ' '); i >= 0 && strings.HasPrefix(rest[i+1:], "HTTP/") {
		target, version = rest[:i], rest[i+1:]
	}
	return m, target, version
}

// w3c normalises IIS W3C extended log records (already split into fields by
// the #Fields header): the cs(Header) names become the Sigma webserver
// category's, and date and time (UTC) give the event time.
func (n *Normalizer) w3c(e *event.Event, sc *scan) string {
	if sc.has(sW3CUserAgent) || sc.has(sW3CReferer) || sc.has(sW3CCookie) || sc.has(sW3CHost) {
		n.renameShape(e, sc, shW3C)
	}
	fill(&e.Log, "", "webserver", "")
	if e.Host == "" {
		e.Host = sc.val(e, sSComputerName)
	}
	d, t := sc.val(e, sDate), sc.val(e, sTime)
	if e.Time == 0 && d != "" {
		if ns, ok := parseDateClock(d, t); ok {
			e.Time = ns
		}
	}
	return ""
}

// parseDateClock reads a date "2006-01-02" and a time "15:04:05[.999]"
// given apart, as W3C logs do.
func parseDateClock(d, t string) (int64, bool) {
	if len(d) != 10 {
		return 0, false
	}
	day, ok := parseISO(d)
	if !ok {
		return 0, false
	}
	if t == "" {
		return day, true
	}
	hh, ok1 := digits(t, 0, 2)
	mm, ok2 := digits(t, 3, 2)
	ss, ok3 := digits(t, 6, 2)
	if !ok1 || !ok2 || !ok3 || t[2] != ':' || t[5] != ':' || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	ns := 0
	if len(t) > 9 && t[8] == '.' {
		ns, _ = fraction(t, 9)
	}
	return day + int64(hh)*int64(time.Hour) + int64(mm)*int64(time.Minute) + int64(ss)*int64(time.Second) + int64(ns), true
}
