// SPDX-License-Identifier: Apache-2.0

// Package normalize turns the events intake produces into the shape the
// Sigma engine and the event store expect (DESIGN.md §3): every event gets
// its Sigma logsource (product, category, service), canonical field names,
// a few derived fields, a host and a checked time.
//
// Canonical names are the names SigmaHQ's rules use: Windows EventData and
// System names (Image, CommandLine, EventID, Provider_Name), auditd's own
// keys, Zeek's and Suricata's own names, the W3C names of the webserver
// and proxy categories. Other spellings of the same field (ECS names such
// as process.command_line, Winlogbeat's winlog.event_data.*, NXLog's
// SourceName) are aliases: events are rewritten to keep canonical names
// only, and Canonical, Canonicals and Aliases let queries and the UI use
// either. The tables, one per source kind, are in alias.go.
//
// Sources recognised (see kind in normalize.go): EVTX records; Winlogbeat 6,
// 7 and 8 and Elastic Agent documents; NXLog and OTRF JSON renderings of
// Windows events; syslog (sshd, sudo, cron, auditd, Sysmon for Linux …, and
// Cisco IOS); auditd records; Zeek; Suricata EVE; FortiGate key=value;
// Apache/nginx access logs and IIS W3C logs; any other JSON (host and time
// only).
//
// Derived fields, added beside the source's own (values share the source
// string's memory):
//   - md5, sha1, sha256, imphash from Sysmon's Hashes (and Hash);
//   - Signature and Filename for Defender antivirus events (thor.yml's
//     antivirus mapping), keeping ThreatName and Path;
//   - sshd: User, SourceIp, SourcePort, AuthMethod (password, publickey …)
//     and AuthResult (success or failure); sudo: User (who ran it), and
//     sudo's own TTY, PWD, USER, COMMAND;
//   - Zeek and Suricata DNS: query, record_type, answer (Sigma dns
//     category); HTTP: c-uri, c-uri-extension, c-useragent, cs-method,
//     cs-host, sc-status, cs-referrer (Sigma proxy category);
//   - event_time_raw: the original time text when the clock check replaced
//     the time.
//
// Renamed fields: Security 4688's NewProcessName → Image and
// ParentProcessName → ParentImage (SigmaHQ tests/thor.yml); Winlogbeat's and
// NXLog's system names → EVTX names; ECS duplicates in Winlogbeat documents
// are dropped (or renamed when the canonical field is missing); Zeek's
// id_orig_h → id.orig_h; Suricata's fileinfo.md5 → md5; FortiGate's srcip →
// src_ip; IIS's cs(User-Agent) → cs-user-agent.
//
// Matches tells whether a rule's logsource applies to an event's, with
// Sigma's wider categories and services (registry_event covers
// registry_set, linux auth covers sshd).
//
// The hot path allocates little: field names are interned once by New and
// looked up through a table indexed by FieldID, and no regular expression
// is used.
//
// Who calls it: app joins Sink between intake's journal consumer and the
// detection engine and event store; import and scan commands call Event.
// It must never block, log, or read anything but the event it is given.
package normalize
