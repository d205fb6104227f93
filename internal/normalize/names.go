// SPDX-License-Identifier: Apache-2.0

package normalize

import "github.com/koban-csirt/koban/internal/event"

// slot numbers the field names the normaliser reads or writes. New interns
// each name once; Event finds the fields of an event with one pass that
// records, per slot, where the field is (see scan), so the code below never
// compares names on the hot path.
type slot uint8

// The slots. Each name has exactly one slot; what a field means can depend
// on the source kind ("host" is the HTTP Host header in Zeek and the sensor
// in Suricata), which the kind's code decides.
const (
	sNone slot = iota

	// Windows, as the EVTX parser and Sigma name them.
	sEventID
	sChannel
	sProviderName
	sProviderGuid
	sComputer
	sEventRecordID
	sExecProcessID
	sExecThreadID
	sSecurityUserID
	sTimeCreated
	sVersion
	sTask
	sOpcode
	sKeywords
	sLevel
	sEventType
	sUtcTime
	sImage
	sParentImage
	sNewProcessName
	sParentProcessName
	sThreatName
	sPath
	sSignature
	sFilename
	sHashes
	sHash
	sUser

	// Derived hash fields (also Zeek files.log's own names).
	sMD5
	sSHA1
	sSHA256
	sImphash

	// NXLog, OTRF and other Windows JSON shapes.
	sSourceName
	sProviderNameAlt // ProviderName
	sHostnameCap     // Hostname
	sEventTime
	sTimeGenerated

	// Winlogbeat 7/8 and Elastic Agent.
	sWinlogEventID
	sWinlogChannel
	sWinlogProviderName
	sAtTimestamp // @timestamp
	sHostName    // host.name
	sHostHostname
	sAgentHostname

	// Winlogbeat 6 (top-level names).
	sWLB6EventID // event_id
	sLogName
	sComputerName // computer_name

	// syslog, as intake names it, and the Azure Monitor Syslog table.
	sFacility
	sPriority
	sHostname // hostname
	sProgram
	sPID
	sMessage
	sSenderIP
	sSyslogMessage
	sHostNameAzure // HostName

	// Linux derived fields.
	sSourceIP
	sSourcePort
	sAuthMethod
	sAuthResult
	sSudoUSER
	sSudoTTY
	sSudoPWD
	sSudoCOMMAND
	sType      // type
	sAuditNode // node

	// Zeek.
	sZeekPath // _path
	sStream   // @stream
	sSystem   // @system
	sTs
	sWriteTs
	sUID
	sIDOrigH
	sIDOrigHU // id_orig_h
	sIDRespHU
	sQuery
	sQtypeName
	sAnswers
	sURI
	sHost // host
	sMethod
	sUserAgent
	sStatusCode
	sReferrer
	sRecordType // Sigma dns category
	sAnswer

	// Suricata EVE.
	sSuriEventType // event_type
	sFlowID
	sSrcIP
	sTimestamp
	sDNSRRName
	sDNSRRType
	sDNSRData
	sHTTPURL
	sHTTPHostname
	sHTTPUserAgent
	sHTTPMethod
	sHTTPStatus
	sHTTPRefer
	sFileinfoMD5
	sFileinfoSHA1
	sFileinfoSHA256

	// Sigma proxy category (derived for Zeek and Suricata HTTP).
	sCURI
	sCURIExtension
	sCUserAgent
	sCsMethodProxy // cs-method, shared with webserver
	sCsHost
	sScStatus
	sCsReferrer

	// Web server (webserver category, W3C names).
	sCIP
	sCsUsername
	sCsURIStem
	sCsURIQuery
	sCsVersion
	sScBytes
	sCsReferer
	sCsUserAgent
	sW3CUserAgent // cs(User-Agent)
	sW3CReferer
	sW3CCookie
	sW3CHost
	sSComputerName
	sDate
	sTime

	// FortiGate and the Sigma firewall category.
	sDevID
	sDevName
	sLogID
	sFortiEventTime // eventtime
	sSrcIPForti     // srcip
	sDstIPForti
	sSrcPortForti
	sDstPortForti

	// Generic time and host fields.
	sDatetime
	sEventTimeLower // eventTime
	sUnderTime      // _time
	sCreatedAt
	sComputerNameCap // ComputerName

	// Output of the clock check.
	sEventTimeRaw

	nSlots
)

// slotNames gives each slot its field name.
var slotNames = [nSlots]string{
	sEventID:           "EventID",
	sChannel:           "Channel",
	sProviderName:      "Provider_Name",
	sProviderGuid:      "Provider_Guid",
	sComputer:          "Computer",
	sEventRecordID:     "EventRecordID",
	sExecProcessID:     "Execution_ProcessID",
	sExecThreadID:      "Execution_ThreadID",
	sSecurityUserID:    "Security_UserID",
	sTimeCreated:       "TimeCreated",
	sVersion:           "Version",
	sTask:              "Task",
	sOpcode:            "Opcode",
	sKeywords:          "Keywords",
	sLevel:             "Level",
	sEventType:         "EventType",
	sUtcTime:           "UtcTime",
	sImage:             "Image",
	sParentImage:       "ParentImage",
	sNewProcessName:    "NewProcessName",
	sParentProcessName: "ParentProcessName",
	sThreatName:        "ThreatName",
	sPath:              "Path",
	sSignature:         "Signature",
	sFilename:          "Filename",
	sHashes:            "Hashes",
	sHash:              "Hash",
	sUser:              "User",

	sMD5:     "md5",
	sSHA1:    "sha1",
	sSHA256:  "sha256",
	sImphash: "imphash",

	sSourceName:      "SourceName",
	sProviderNameAlt: "ProviderName",
	sHostnameCap:     "Hostname",
	sEventTime:       "EventTime",
	sTimeGenerated:   "TimeGenerated",

	sWinlogEventID:      "winlog.event_id",
	sWinlogChannel:      "winlog.channel",
	sWinlogProviderName: "winlog.provider_name",
	sAtTimestamp:        "@timestamp",
	sHostName:           "host.name",
	sHostHostname:       "host.hostname",
	sAgentHostname:      "agent.hostname",

	sWLB6EventID:  "event_id",
	sLogName:      "log_name",
	sComputerName: "computer_name",

	sFacility:      "facility",
	sPriority:      "priority",
	sHostname:      "hostname",
	sProgram:       "program",
	sPID:           "pid",
	sMessage:       "message",
	sSenderIP:      "sender_ip",
	sSyslogMessage: "SyslogMessage",
	sHostNameAzure: "HostName",

	sSourceIP:    "SourceIp",
	sSourcePort:  "SourcePort",
	sAuthMethod:  "AuthMethod",
	sAuthResult:  "AuthResult",
	sSudoUSER:    "USER",
	sSudoTTY:     "TTY",
	sSudoPWD:     "PWD",
	sSudoCOMMAND: "COMMAND",
	sType:        "type",
	sAuditNode:   "node",

	sZeekPath:   "_path",
	sStream:     "@stream",
	sSystem:     "@system",
	sTs:         "ts",
	sWriteTs:    "_write_ts",
	sUID:        "uid",
	sIDOrigH:    "id.orig_h",
	sIDOrigHU:   "id_orig_h",
	sIDRespHU:   "id_resp_h",
	sQuery:      "query",
	sQtypeName:  "qtype_name",
	sAnswers:    "answers",
	sURI:        "uri",
	sHost:       "host",
	sMethod:     "method",
	sUserAgent:  "user_agent",
	sStatusCode: "status_code",
	sReferrer:   "referrer",
	sRecordType: "record_type",
	sAnswer:     "answer",

	sSuriEventType:  "event_type",
	sFlowID:         "flow_id",
	sSrcIP:          "src_ip",
	sTimestamp:      "timestamp",
	sDNSRRName:      "dns.rrname",
	sDNSRRType:      "dns.rrtype",
	sDNSRData:       "dns.rdata",
	sHTTPURL:        "http.url",
	sHTTPHostname:   "http.hostname",
	sHTTPUserAgent:  "http.http_user_agent",
	sHTTPMethod:     "http.http_method",
	sHTTPStatus:     "http.status",
	sHTTPRefer:      "http.http_refer",
	sFileinfoMD5:    "fileinfo.md5",
	sFileinfoSHA1:   "fileinfo.sha1",
	sFileinfoSHA256: "fileinfo.sha256",

	sCURI:          "c-uri",
	sCURIExtension: "c-uri-extension",
	sCUserAgent:    "c-useragent",
	sCsMethodProxy: "cs-method",
	sCsHost:        "cs-host",
	sScStatus:      "sc-status",
	sCsReferrer:    "cs-referrer",

	sCIP:           "c-ip",
	sCsUsername:    "cs-username",
	sCsURIStem:     "cs-uri-stem",
	sCsURIQuery:    "cs-uri-query",
	sCsVersion:     "cs-version",
	sScBytes:       "sc-bytes",
	sCsReferer:     "cs-referer",
	sCsUserAgent:   "cs-user-agent",
	sW3CUserAgent:  "cs(User-Agent)",
	sW3CReferer:    "cs(Referer)",
	sW3CCookie:     "cs(Cookie)",
	sW3CHost:       "cs(Host)",
	sSComputerName: "s-computername",
	sDate:          "date",
	sTime:          "time",

	sDevID:          "devid",
	sDevName:        "devname",
	sLogID:          "logid",
	sFortiEventTime: "eventtime",
	sSrcIPForti:     "srcip",
	sDstIPForti:     "dstip",
	sSrcPortForti:   "srcport",
	sDstPortForti:   "dstport",

	sDatetime:        "datetime",
	sEventTimeLower:  "eventTime",
	sUnderTime:       "_time",
	sCreatedAt:       "created_at",
	sComputerNameCap: "ComputerName",

	sEventTimeRaw: "event_time_raw",
}

// scan records, per slot, where the slot's field is in an event: index+1
// into Fields, 0 when the event lacks it.
type scan struct {
	at [nSlots]int32
}

// index fills sc from e's fields.
func (n *Normalizer) index(e *event.Event, sc *scan) {
	sc.at = [nSlots]int32{}
	info := n.info
	for i := range e.Fields {
		id := e.Fields[i].ID
		if int(id) < len(info) {
			if s := info[id].slot; s != sNone {
				sc.at[s] = int32(i + 1)
			}
		}
	}
}

// has reports whether the event has the field of s.
func (sc *scan) has(s slot) bool { return sc.at[s] != 0 }

// get returns the value of s's field.
func (sc *scan) get(e *event.Event, s slot) (string, bool) {
	i := sc.at[s]
	if i == 0 || int(i) > len(e.Fields) {
		return "", false
	}
	return e.Fields[i-1].Value, true
}

// val returns the value of s's field, or "".
func (sc *scan) val(e *event.Event, s slot) string {
	v, _ := sc.get(e, s)
	return v
}

// first returns the value of the first of slots the event has.
func (sc *scan) first(e *event.Event, slots ...slot) (string, bool) {
	for _, s := range slots {
		if v, ok := sc.get(e, s); ok {
			return v, true
		}
	}
	return "", false
}

// set gives s's field the value v, appending the field when the event lacks
// it, and keeps sc in step.
func (n *Normalizer) set(e *event.Event, sc *scan, s slot, v string) {
	if i := sc.at[s]; i != 0 && int(i) <= len(e.Fields) {
		e.Fields[i-1].Value = v
		return
	}
	e.Fields = append(e.Fields, event.Field{ID: n.ids[s], Value: v})
	sc.at[s] = int32(len(e.Fields))
}

// setIfEmpty sets s's field to v when v is not empty.
func (n *Normalizer) setIfValue(e *event.Event, sc *scan, s slot, v string) {
	if v != "" {
		n.set(e, sc, s, v)
	}
}
