// SPDX-License-Identifier: Apache-2.0

package normalize

import "slices"

// ruleFields are the fields SigmaHQ's rules use most (canonical names,
// ordered by number of uses in the detection sections of rules/): the 60
// most used, then the next ones that the sources koban reads carry.
// TestCommonFields counts the rules and checks both the set and the order.
var ruleFields = []string{
	"Image", "CommandLine", "OriginalFileName", "TargetObject", "TargetFilename", "ParentImage",
	"EventID", "Details", "ScriptBlockText", "ImageLoaded", "ParentCommandLine", "Provider_Name",
	"Description", "SourceImage", "eventName", "type", "eventSource", "ImagePath", "TargetImage",
	"PipeName", "Product", "Hashes", "Data", "Initiated", "Payload", "ProcessName", "a0",
	"operationName", "ServiceFileName", "a1", "QueryName", "ContextInfo", "DestinationHostname",
	"ObjectName", "DestinationIp", "IntegrityLevel", "ServiceName", "c-useragent", "properties.message",
	"riskEventType", "DestinationPort", "GrantedAccess", "User", "logtype", "FileNameBuffer",
	"action", "CallTrace", "name", "Company", "RelativeTargetName", "eventType", "AccessList",
	"EventLog", "InterfaceUuid", "ObjectType", "SubjectUserName", "operation", "c-uri", "endpoint",
	"gcp.audit.method_name",

	"CurrentDirectory", "ShareName", "Signed", "a2", "cs-method", "Signature", "query", "LogonType",
	"EventType", "IpAddress", "Path", "TargetUserName", "cs-host", "Protocol", "SYSCALL",
	"cs-uri-query", "exe", "LogonId", "SourcePort", "sc-status", "Channel", "SourceIp",
	"cs-user-agent",
}

// extraFields are fields the rules seldom name but that people hunt by and
// IOC matching reads: hosts, users, process ids, hashes, addresses and
// ports, and the key fields of syslog, Zeek, Suricata and web logs.
var extraFields = []string{
	"Computer", "TargetDomainName", "SubjectDomainName", "WorkstationName", "ProcessId",
	"ParentProcessId", "md5", "sha1", "sha256", "imphash",
	"hostname", "program", "facility", "message", "AuthResult",
	"id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "uid", "proto",
	"src_ip", "dest_ip", "dest_port", "dst_ip", "dst_port", "event_type", "alert.signature", "tls.sni",
	"c-ip", "cs-uri-stem",
}

// CommonFields lists the fields the event store gives their own typed columns, most used first.
func CommonFields() []string { return slices.Concat(ruleFields, extraFields) }
