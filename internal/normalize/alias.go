// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"slices"
	"strings"
)

// pair maps an alias to the canonical field name events keep.
type pair struct{ alias, canonical string }

// shape is a way a source writes events whose field names the normaliser
// renames to canonical ones (see fieldInfo.ren).
type shape uint8

const (
	shNone       shape = iota
	shNXLog            // NXLog im_msvistalog and OTRF JSON renderings of Windows events
	shWinlogbeat       // Winlogbeat 7/8, Elastic Agent: winlog.*
	shWLB6             // Winlogbeat 6: top-level event_id, log_name …
	shZeek             // Corelight/RockNSM Zeek JSON: id_orig_h, @stream
	shSuricata         // Suricata EVE
	shW3C              // IIS W3C extended log: cs(User-Agent) …
	shFortigate        // FortiGate key=value
	shAzure            // Azure Monitor Syslog table
	nShapes
)

// table is one source kind's mapping.
type table struct {
	kind string
	// shape: events of this shape get the aliases renamed to canonical.
	shape shape
	// ecs: ECS aliases found in Windows events (Winlogbeat and Elastic
	// Agent send both) are renamed, or dropped when a canonical target is
	// already there.
	ecs bool
	// local: the aliases are renamed in their shape only and are not
	// offered by Canonical, because elsewhere they are canonical names
	// (Winlogbeat 6's "version", NXLog's "SourceName").
	local bool
	pairs []pair
}

// tables are all alias mappings, one or two per source kind. Canonical
// prefers earlier tables.
var tables = []table{
	{kind: "windows", ecs: true, pairs: []pair{
		{"process.command_line", "CommandLine"},
		{"process.executable", "Image"},
		{"process.pid", "ProcessId"},
		{"process.entity_id", "ProcessGuid"},
		{"process.working_directory", "CurrentDirectory"},
		{"process.pe.original_file_name", "OriginalFileName"},
		{"process.pe.description", "Description"},
		{"process.pe.product", "Product"},
		{"process.pe.company", "Company"},
		{"process.pe.file_version", "FileVersion"},
		{"process.parent.executable", "ParentImage"},
		{"process.parent.command_line", "ParentCommandLine"},
		{"process.parent.pid", "ParentProcessId"},
		{"process.parent.entity_id", "ParentProcessGuid"},
		{"process.Ext.token.integrity_level_name", "IntegrityLevel"},
		{"user.name", "User"},
		{"source.ip", "SourceIp"},
		{"source.port", "SourcePort"},
		{"source.domain", "SourceHostname"},
		{"destination.ip", "DestinationIp"},
		{"destination.port", "DestinationPort"},
		{"destination.domain", "DestinationHostname"},
		{"network.transport", "Protocol"},
		{"dns.question.name", "QueryName"},
		{"file.path", "TargetFilename"},
		{"registry.path", "TargetObject"},
		{"registry.data.strings", "Details"},
		{"dll.path", "ImageLoaded"},
		{"dll.code_signature.subject_name", "Signature"},
		{"dll.code_signature.status", "SignatureStatus"},
		{"powershell.file.script_block_text", "ScriptBlockText"},
		{"host.name", "Computer"},
		{"event.code", "EventID"},
		{"event.provider", "Provider_Name"},
	}},
	{kind: "hashes", ecs: true, pairs: []pair{
		{"hash.md5", "md5"}, {"hash.sha1", "sha1"}, {"hash.sha256", "sha256"}, {"hash.imphash", "imphash"},
		{"process.hash.md5", "md5"}, {"process.hash.sha1", "sha1"}, {"process.hash.sha256", "sha256"},
		{"process.pe.imphash", "imphash"},
		{"file.hash.md5", "md5"}, {"file.hash.sha1", "sha1"}, {"file.hash.sha256", "sha256"},
		{"dll.hash.md5", "md5"}, {"dll.hash.sha1", "sha1"}, {"dll.hash.sha256", "sha256"},
		{"dll.pe.imphash", "imphash"},
	}},
	{kind: "windows-security", ecs: true, pairs: []pair{
		{"source.ip", "IpAddress"},
		{"source.port", "IpPort"},
		{"source.domain", "WorkstationName"},
		{"user.name", "TargetUserName"},
		{"user.name", "SubjectUserName"},
		{"user.domain", "TargetDomainName"},
		{"user.domain", "SubjectDomainName"},
		{"process.executable", "ProcessName"},
		{"service.name", "ServiceName"},
	}},
	// Security 4688's names for Sysmon's, as SigmaHQ's tests/thor.yml maps
	// them (fieldmappings of process_creation_2); renamed in 4688 events.
	{kind: "windows-4688", pairs: []pair{
		{"NewProcessName", "Image"},
		{"ParentProcessName", "ParentImage"},
	}},
	{kind: "winlogbeat", shape: shWinlogbeat, pairs: []pair{
		{"winlog.event_id", "EventID"},
		{"event.code", "EventID"},
		{"winlog.channel", "Channel"},
		{"winlog.provider_name", "Provider_Name"},
		{"event.provider", "Provider_Name"},
		{"winlog.provider_guid", "Provider_Guid"},
		{"winlog.computer_name", "Computer"},
		{"winlog.record_id", "EventRecordID"},
		{"winlog.process.pid", "Execution_ProcessID"},
		{"winlog.process.thread.id", "Execution_ThreadID"},
		{"winlog.user.identifier", "Security_UserID"},
		{"winlog.version", "Version"},
		{"winlog.opcode", "Opcode"},
		{"winlog.task", "Task"},
		{"winlog.keywords", "Keywords"},
		{"winlog.activity_id", "Correlation_ActivityID"},
		{"winlog.related_activity_id", "Correlation_RelatedActivityID"},
	}},
	{kind: "winlogbeat6", shape: shWLB6, local: true, pairs: []pair{
		{"event_id", "EventID"},
		{"log_name", "Channel"},
		{"source_name", "Provider_Name"},
		{"computer_name", "Computer"},
		{"record_number", "EventRecordID"},
		{"process_id", "Execution_ProcessID"},
		{"thread_id", "Execution_ThreadID"},
		{"provider_guid", "Provider_Guid"},
		{"activity_id", "Correlation_ActivityID"},
		{"user.identifier", "Security_UserID"},
		{"version", "Version"},
		{"task", "Task"},
		{"opcode", "Opcode"},
		{"keywords", "Keywords"},
	}},
	{kind: "nxlog", shape: shNXLog, local: true, pairs: []pair{
		{"SourceName", "Provider_Name"},
		{"ProviderName", "Provider_Name"},
		{"Hostname", "Computer"},
		{"RecordNumber", "EventRecordID"},
		{"ExecutionProcessID", "Execution_ProcessID"},
		{"ThreadID", "Execution_ThreadID"},
		{"UserID", "Security_UserID"},
		{"ProviderGuid", "Provider_Guid"},
		{"ActivityID", "Correlation_ActivityID"},
		{"RelatedActivityID", "Correlation_RelatedActivityID"},
	}},
	{kind: "linux", pairs: []pair{
		{"process.executable", "exe"},
		{"process.name", "comm"},
		{"process.pid", "pid"},
		{"process.parent.pid", "ppid"},
		{"process.title", "proctitle"},
		{"process.working_directory", "cwd"},
		{"file.path", "name"},
		{"user.id", "uid"},
		{"user.audit.id", "auid"},
		{"user.effective.id", "euid"},
		{"log.syslog.appname", "program"},
		{"log.syslog.hostname", "hostname"},
		{"log.syslog.facility.name", "facility"},
		{"log.syslog.severity.name", "severity"},
		{"log.syslog.priority", "priority"},
		{"log.syslog.msgid", "msgid"},
		{"log.syslog.procid", "pid"},
		{"event.outcome", "AuthResult"},
		{"source.ip", "SourceIp"},
		{"source.port", "SourcePort"},
		{"user.name", "User"},
	}},
	{kind: "zeek", shape: shZeek, pairs: []pair{
		{"@stream", "_path"},
		{"id_orig_h", "id.orig_h"},
		{"id_orig_p", "id.orig_p"},
		{"id_resp_h", "id.resp_h"},
		{"id_resp_p", "id.resp_p"},
	}},
	{kind: "zeek-ecs", pairs: []pair{
		{"source.ip", "id.orig_h"},
		{"source.port", "id.orig_p"},
		{"destination.ip", "id.resp_h"},
		{"destination.port", "id.resp_p"},
		{"network.transport", "proto"},
		{"network.protocol", "service"},
		{"zeek.session_id", "uid"},
		{"dns.question.name", "query"},
		{"dns.question.type", "qtype_name"},
		{"dns.response_code", "rcode_name"},
		{"dns.answers.data", "answers"},
		{"url.original", "uri"},
		{"url.domain", "host"},
		{"http.request.method", "method"},
		{"user_agent.original", "user_agent"},
		{"http.response.status_code", "status_code"},
		{"http.request.referrer", "referrer"},
		{"tls.client.server_name", "server_name"},
	}},
	{kind: "suricata", shape: shSuricata, pairs: []pair{
		{"fileinfo.md5", "md5"},
		{"fileinfo.sha1", "sha1"},
		{"fileinfo.sha256", "sha256"},
	}},
	{kind: "suricata-ecs", pairs: []pair{
		{"source.ip", "src_ip"},
		{"source.port", "src_port"},
		{"destination.ip", "dest_ip"},
		{"destination.port", "dest_port"},
		{"network.transport", "proto"},
		{"network.community_id", "community_id"},
		{"rule.name", "alert.signature"},
		{"rule.id", "alert.signature_id"},
		{"rule.category", "alert.category"},
		{"dns.question.name", "dns.rrname"},
		{"dns.question.type", "dns.rrtype"},
		{"url.original", "http.url"},
		{"url.domain", "http.hostname"},
		{"http.request.method", "http.http_method"},
		{"user_agent.original", "http.http_user_agent"},
		{"http.response.status_code", "http.status"},
		{"http.request.referrer", "http.http_refer"},
		{"tls.client.server_name", "tls.sni"},
		{"file.name", "fileinfo.filename"},
	}},
	// The Sigma dns and proxy categories' names, which the normaliser adds
	// to Zeek and Suricata DNS and HTTP events.
	{kind: "dns", pairs: []pair{
		{"dns.question.name", "query"},
		{"dns.question.type", "record_type"},
		{"dns.answers.data", "answer"},
	}},
	{kind: "proxy", pairs: []pair{
		{"url.original", "c-uri"},
		{"url.extension", "c-uri-extension"},
		{"user_agent.original", "c-useragent"},
		{"http.request.method", "cs-method"},
		{"url.domain", "cs-host"},
		{"http.response.status_code", "sc-status"},
		{"http.request.referrer", "cs-referrer"},
	}},
	{kind: "webserver", shape: shW3C, pairs: []pair{
		{"cs(User-Agent)", "cs-user-agent"},
		{"cs(Referer)", "cs-referer"},
		{"cs(Cookie)", "cs-cookie"},
		{"cs(Host)", "cs-host"},
	}},
	{kind: "webserver-ecs", pairs: []pair{
		{"source.ip", "c-ip"},
		{"user.name", "cs-username"},
		{"http.request.method", "cs-method"},
		{"url.path", "cs-uri-stem"},
		{"url.original", "cs-uri-query"},
		{"http.version", "cs-version"},
		{"http.response.status_code", "sc-status"},
		{"http.response.body.bytes", "sc-bytes"},
		{"http.request.referrer", "cs-referer"},
		{"user_agent.original", "cs-user-agent"},
		{"url.domain", "cs-host"},
	}},
	{kind: "fortigate", shape: shFortigate, pairs: []pair{
		{"srcip", "src_ip"},
		{"dstip", "dst_ip"},
		{"srcport", "src_port"},
		{"dstport", "dst_port"},
	}},
	{kind: "firewall-ecs", pairs: []pair{
		{"source.ip", "src_ip"},
		{"source.port", "src_port"},
		{"destination.ip", "dst_ip"},
		{"destination.port", "dst_port"},
	}},
	{kind: "azure-syslog", shape: shAzure, local: true, pairs: []pair{
		{"SyslogMessage", "message"},
		{"ProcessName", "program"},
		{"HostName", "hostname"},
		{"Facility", "facility"},
		{"SeverityLevel", "severity"},
	}},
}

// prefixes are alias prefixes: an alias is the prefix plus the canonical
// name (Winlogbeat's "winlog.event_data.CommandLine" is "CommandLine").
var prefixes = []string{"winlog.event_data.", "winlog.user_data.", "event_data.", "user_data."}

// The lookup maps, built once from tables and never changed.
var canonicalsOf, aliasesOf = buildAliasMaps()

func buildAliasMaps() (map[string][]string, map[string][]string) {
	c := map[string][]string{}
	a := map[string][]string{}
	for _, t := range tables {
		if t.local {
			continue
		}
		for _, p := range t.pairs {
			if !slices.Contains(c[p.alias], p.canonical) {
				c[p.alias] = append(c[p.alias], p.canonical)
			}
			if !slices.Contains(a[p.canonical], p.alias) {
				a[p.canonical] = append(a[p.canonical], p.alias)
			}
		}
	}
	return c, a
}

// Canonical returns the canonical field name for name when name is an ECS
// (or other) alias, and true; otherwise name itself and false. An ECS name
// can stand for fields of several source kinds ("source.ip" is SourceIp in
// Sysmon, IpAddress in Security logons, id.orig_h in Zeek): Canonical gives
// the first, the Windows one; Canonicals gives them all, and a query or a
// rule on an alias should look at every one of them.
func Canonical(name string) (string, bool) {
	if c, ok := canonicalsOf[name]; ok {
		return c[0], true
	}
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(name, p); ok && rest != "" {
			return rest, true
		}
	}
	return name, false
}

// Canonicals returns every canonical field name that name is an alias of,
// most used source kind first, or nil when name is no alias.
func Canonicals(name string) []string {
	if c, ok := canonicalsOf[name]; ok {
		return slices.Clone(c)
	}
	if c, ok := Canonical(name); ok {
		return []string{c}
	}
	return nil
}

// Aliases returns the alias names of a canonical field (for display and for
// queries), or nil when it has none. Winlogbeat's prefixed event_data names
// are not listed: every EventData name has one.
func Aliases(canonical string) []string {
	return slices.Clone(aliasesOf[canonical])
}
