// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strings"

	"github.com/koban-csirt/koban/internal/event"
)

// zeek normalises a Zeek log record: product zeek, service the log's path
// (conn, dns, http …), as SigmaHQ's zeek rules expect; dns records are also
// in the dns category and http records in the proxy category, with the
// category's field names added (record_type, answer; c-uri, c-useragent,
// cs-method, cs-host, sc-status, cs-referrer, c-uri-extension) beside
// Zeek's own, which Zeek's rules use.
func (n *Normalizer) zeek(e *event.Event, sc *scan) string {
	if sc.has(sStream) || sc.has(sIDOrigHU) || sc.has(sIDRespHU) {
		n.renameShape(e, sc, shZeek)
	}
	path := e.Log.Service
	if path == "" {
		path = sc.val(e, sZeekPath)
	}
	cat := ""
	switch path {
	case "dns":
		cat = "dns"
		n.copyField(e, sc, sQtypeName, sRecordType)
		n.copyField(e, sc, sAnswers, sAnswer)
	case "http":
		cat = "proxy"
		n.proxy(e, sc, sURI, sUserAgent, sMethod, sHost, sStatusCode, sReferrer)
	}
	fill(&e.Log, "zeek", cat, path)
	if e.Host == "" {
		e.Host = sc.val(e, sSystem)
	}
	t, _ := sc.first(e, sTs, sWriteTs)
	return t
}

// suricata normalises a Suricata EVE record: product suricata, service the
// event_type (alert, dns, http, flow, netflow …); dns and http records get
// the Sigma dns and proxy categories and their field names, as for Zeek.
func (n *Normalizer) suricata(e *event.Event, sc *scan) string {
	if sc.has(sFileinfoMD5) || sc.has(sFileinfoSHA1) || sc.has(sFileinfoSHA256) {
		n.renameShape(e, sc, shSuricata)
	}
	et := sc.val(e, sSuriEventType)
	cat := ""
	switch et {
	case "dns":
		cat = "dns"
		n.copyField(e, sc, sDNSRRName, sQuery)
		n.copyField(e, sc, sDNSRRType, sRecordType)
		n.copyField(e, sc, sDNSRData, sAnswer)
	case "http":
		cat = "proxy"
		n.proxy(e, sc, sHTTPURL, sHTTPUserAgent, sHTTPMethod, sHTTPHostname, sHTTPStatus, sHTTPRefer)
	}
	fill(&e.Log, "suricata", cat, et)
	if e.Host == "" {
		e.Host = sc.val(e, sHost)
	}
	return sc.val(e, sTimestamp)
}

// fortigate normalises FortiGate key=value logs: product fortigate, service
// the log type (event, traffic, utm), traffic logs in the firewall category
// with the category's names src_ip, dst_ip, src_port, dst_port.
func (n *Normalizer) fortigate(e *event.Event, sc *scan) string {
	if sc.has(sSrcIPForti) || sc.has(sDstIPForti) || sc.has(sSrcPortForti) || sc.has(sDstPortForti) {
		n.renameShape(e, sc, shFortigate)
	}
	typ := sc.val(e, sType)
	cat := ""
	if typ == "traffic" {
		cat = "firewall"
	}
	fill(&e.Log, "fortigate", cat, typ)
	if e.Host == "" {
		e.Host, _ = sc.first(e, sDevName, sHostname, sSenderIP)
	}
	return sc.val(e, sFortiEventTime)
}

// copyField adds field to with the value of field from, when the event has
// from and lacks to. The value shares from's memory.
func (n *Normalizer) copyField(e *event.Event, sc *scan, from, to slot) {
	if v, ok := sc.get(e, from); ok && !sc.has(to) {
		n.set(e, sc, to, v)
	}
}

// proxy adds the Sigma proxy category's names for an HTTP record's URL,
// user agent, method, host, status and referrer.
func (n *Normalizer) proxy(e *event.Event, sc *scan, uri, ua, method, host, status, referrer slot) {
	n.copyField(e, sc, uri, sCURI)
	n.copyField(e, sc, ua, sCUserAgent)
	n.copyField(e, sc, method, sCsMethodProxy)
	n.copyField(e, sc, host, sCsHost)
	n.copyField(e, sc, status, sScStatus)
	n.copyField(e, sc, referrer, sCsReferrer)
	if u, ok := sc.get(e, uri); ok && !sc.has(sCURIExtension) {
		if ext := uriExtension(u); ext != "" {
			n.set(e, sc, sCURIExtension, ext)
		}
	}
}

// uriExtension returns the file extension of a URL's path ("exe" for
// "/a/b.exe?x=1"), or "".
func uriExtension(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		u = u[i+1:]
	}
	i := strings.LastIndexByte(u, '.')
	if i < 0 || i == len(u)-1 || len(u)-i-1 > 16 {
		return ""
	}
	return u[i+1:]
}
