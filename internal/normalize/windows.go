// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strings"

	"github.com/koban-csirt/koban/internal/event"
)

// windowsChannels maps event log channels to Sigma services, as SigmaHQ's
// tests/thor.yml does ("WinEventLog:<channel>" sources), plus the channels
// of services SigmaHQ rules use that thor.yml lacks (dns-server,
// dns-server-analytic, driver-framework).
var windowsChannels = map[string]string{
	"Application":                                                              "application",
	"Security":                                                                 "security",
	"System":                                                                   "system",
	"Microsoft-Windows-NTLM/Operational":                                       "ntlm",
	"Microsoft-Windows-Sysmon/Operational":                                     "sysmon",
	"Microsoft-Windows-PowerShell/Operational":                                 "powershell",
	"PowerShellCore/Operational":                                               "powershell",
	"Windows PowerShell":                                                       "powershell-classic",
	"Microsoft-Windows-TaskScheduler/Operational":                              "taskscheduler",
	"Microsoft-Windows-WMI-Activity/Operational":                               "wmi",
	"Microsoft-Windows-DHCP-Server/Operational":                                "dhcp",
	"Microsoft-Windows-PrintService/Admin":                                     "printservice-admin",
	"Microsoft-Windows-SmbClient/Security":                                     "smbclient-security",
	"Microsoft-Windows-SmbClient/Connectivity":                                 "smbclient-connectivity",
	"Microsoft-Windows-SMBServer/Connectivity":                                 "smbserver-connectivity",
	"Microsoft-Windows-PrintService/Operational":                               "printservice-operational",
	"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational":       "terminalservices-localsessionmanager",
	"Microsoft-Windows-CodeIntegrity/Operational":                              "codeintegrity-operational",
	"Microsoft-Windows-AppLocker/MSI and Script":                               "applocker",
	"Microsoft-Windows-AppLocker/EXE and DLL":                                  "applocker",
	"Microsoft-Windows-AppLocker/Packaged app-Deployment":                      "applocker",
	"Microsoft-Windows-AppLocker/Packaged app-Execution":                       "applocker",
	"MSExchange Management":                                                    "msexchange-management",
	"Microsoft-Windows-Windows Defender/Operational":                           "windefend",
	"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall":       "firewall-as",
	"Microsoft-Windows-Bits-Client/Operational":                                "bits-client",
	"Microsoft-Windows-Security-Mitigations/Kernel Mode":                       "security-mitigations",
	"Microsoft-Windows-Security-Mitigations/User Mode":                         "security-mitigations",
	"Microsoft-Windows-Diagnosis-Scripted/Operational":                         "diagnosis-scripted",
	"Microsoft-Windows-Shell-Core/Operational":                                 "shell-core",
	"OpenSSH/Operational":                                                      "openssh",
	"Microsoft-Windows-LDAP-Client/Debug":                                      "ldap",
	"Microsoft-Windows-BitLocker/BitLocker Management":                         "bitlocker",
	"Microsoft-Windows-VHDMP/Operational":                                      "vhdmp",
	"Microsoft-Windows-AppXDeploymentServer/Operational":                       "appxdeployment-server",
	"Microsoft-Windows-LSA/Operational":                                        "lsa-server",
	"Microsoft-Windows-AppxPackaging/Operational":                              "appxpackaging-om",
	"Microsoft-Windows-DNS Client Events/Operational":                          "dns-client",
	"Microsoft-Windows-AppModel-Runtime/Admin":                                 "appmodel-runtime",
	"Microsoft-Windows-CAPI2/Operational":                                      "capi2",
	"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational": "certificateservicesclient-lifecycle-system",
	"Microsoft-Windows-Kernel-ShimEngine/Operational":                          "kernel-shimengine",
	"Microsoft-Windows-Kernel-ShimEngine/Diagnostic":                           "kernel-shimengine",
	"Microsoft-Windows-Application-Experience/Program-Telemetry":               "application-experience",
	"Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant": "application-experience",
	"Microsoft-Windows-Ntfs/Operational":                                       "ntfs",
	"Microsoft-Windows-Hyper-V-Worker":                                         "hyper-v-worker",
	"Microsoft-Windows-Hyper-V-Worker-Admin":                                   "hyper-v-worker",
	"Microsoft-Windows-Kernel-EventTracing":                                    "kernel-event-tracing",
	"Microsoft-Windows-Kernel-EventTracing/Admin":                              "kernel-event-tracing",
	"Microsoft-Windows-SENSE/Operational":                                      "sense",
	"Microsoft-ServiceBus-Client/Admin":                                        "servicebus-client",
	"Microsoft-ServiceBus-Client/Operational":                                  "servicebus-client",
	"Microsoft-IIS-Configuration/Operational":                                  "iis-configuration",
	"DNS Server": "dns-server",
	"Microsoft-Windows-DNS-Server/Analytical":                 "dns-server-analytic",
	"Microsoft-Windows-DNSServer/Analytical":                  "dns-server-analytic",
	"Microsoft-Windows-DriverFrameworks-UserMode/Operational": "driver-framework",
	linuxSysmonChannel: "sysmon",
}

const linuxSysmonChannel = "Linux-Sysmon/Operational"

// windowsProviders gives the service of an event that names its provider
// but not its channel.
var windowsProviders = map[string]string{
	"Microsoft-Windows-Sysmon":                               "sysmon",
	"Microsoft-Windows-Security-Auditing":                    "security",
	"Microsoft-Windows-Eventlog":                             "security",
	"Microsoft-Windows-PowerShell":                           "powershell",
	"PowerShell":                                             "powershell-classic",
	"Microsoft-Windows-Windows Defender":                     "windefend",
	"Microsoft-Windows-TaskScheduler":                        "taskscheduler",
	"Microsoft-Windows-WMI-Activity":                         "wmi",
	"Service Control Manager":                                "system",
	"Microsoft-Windows-Bits-Client":                          "bits-client",
	"Microsoft-Windows-CodeIntegrity":                        "codeintegrity-operational",
	"Microsoft-Windows-NTLM":                                 "ntlm",
	"Microsoft-Windows-DNS-Client":                           "dns-client",
	"Microsoft-Windows-TerminalServices-LocalSessionManager": "terminalservices-localsessionmanager",
	"Linux-Sysmon":                                           "sysmon",
}

// sysmonCategories maps Sysmon event IDs to Sigma categories as thor.yml
// does. Event 12 depends on EventType (see windowsCategory).
var sysmonCategories = map[uint32]string{
	1:   "process_creation",
	2:   "file_change",
	3:   "network_connection",
	4:   "sysmon_status",
	5:   "process_termination",
	6:   "driver_load",
	7:   "image_load",
	8:   "create_remote_thread",
	9:   "raw_access_thread",
	10:  "process_access",
	11:  "file_event",
	12:  "registry_event",
	13:  "registry_set",
	14:  "registry_rename",
	15:  "create_stream_hash",
	16:  "sysmon_status",
	17:  "pipe_created",
	18:  "pipe_created",
	19:  "wmi_event",
	20:  "wmi_event",
	21:  "wmi_event",
	22:  "dns_query",
	23:  "file_delete",
	24:  "clipboard_change",
	25:  "process_tampering",
	26:  "file_delete_detected",
	27:  "file_block_executable",
	28:  "file_block_shredding",
	29:  "file_executable_detected",
	255: "sysmon_error",
}

// linuxSysmonCategories maps Sysmon for Linux event IDs to the categories
// of SigmaHQ's tests/logsource.json "linux" section.
var linuxSysmonCategories = map[uint32]string{
	1:   "process_creation",
	3:   "network_connection",
	4:   "sysmon_status",
	5:   "process_termination",
	9:   "raw_access_read",
	11:  "file_event",
	16:  "sysmon_status",
	23:  "file_delete",
	255: "sysmon_error",
}

// antivirusEvents are the Windows Defender event IDs thor.yml maps to the
// antivirus category (those with a threat name or path).
var antivirusEvents = map[uint32]bool{
	1006: true, 1007: true, 1008: true, 1009: true, 1010: true, 1011: true,
	1012: true, 1017: true, 1018: true, 1019: true, 1115: true, 1116: true,
}

// windowsCategory returns the Sigma category of a Windows event of service
// svc with event id id, or "".
func windowsCategory(svc string, id uint32, eventType string, linux bool) string {
	switch svc {
	case "sysmon":
		if linux {
			return linuxSysmonCategories[id]
		}
		if id == 12 {
			switch eventType {
			case "CreateKey":
				return "registry_add"
			case "DeleteKey", "DeleteValue":
				return "registry_delete"
			}
		}
		return sysmonCategories[id]
	case "security":
		if id == 4688 {
			return "process_creation"
		}
	case "powershell":
		switch id {
		case 4103:
			return "ps_module"
		case 4104:
			return "ps_script"
		}
	case "powershell-classic":
		switch id {
		case 400:
			return "ps_classic_start"
		case 600:
			return "ps_classic_provider_start"
		case 800:
			return "ps_classic_script"
		}
	case "windefend":
		if antivirusEvents[id] {
			return "antivirus"
		}
	}
	return ""
}

// parseUint reads a decimal event id; JSON shapes may write it as a float
// ("4688.0") or with spaces.
func parseUint(s string) (uint32, bool) {
	s = trimSpace(s)
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' && i > 0 && strings.Trim(s[i+1:], "0") == "" {
			break
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
		if v > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(v), true
}

// foldMap is a string map that is also looked up case-insensitively:
// Windows treats channel and provider names so.
type foldMap struct{ exact, lower map[string]string }

func newFoldMap(m map[string]string) foldMap {
	f := foldMap{exact: m, lower: make(map[string]string, len(m))}
	for k, v := range m {
		f.lower[strings.ToLower(k)] = v
	}
	return f
}

// get looks key up exactly, then case-insensitively, without allocating for
// keys up to 128 bytes.
func (f foldMap) get(key string) (string, bool) {
	if v, ok := f.exact[key]; ok {
		return v, true
	}
	var buf [128]byte
	if len(key) > len(buf) {
		return "", false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	v, ok := f.lower[string(buf[:len(key)])]
	return v, ok
}

// windows normalises an event whose fields are named as the EVTX parser
// names them (after renaming any other Windows shape). It returns the text
// of the event's own time.
func (n *Normalizer) windows(e *event.Event, sc *scan) string {
	idText, _ := sc.get(e, sEventID)
	id, idOK := parseUint(idText)
	channel, _ := sc.get(e, sChannel)
	svc, ok := n.channels.get(channel)
	if !ok {
		if p, okp := sc.get(e, sProviderName); okp {
			svc, _ = n.providers.get(p)
		}
	}
	linux := channel == linuxSysmonChannel || sc.val(e, sProviderName) == "Linux-Sysmon"
	product := "windows"
	if linux {
		product = "linux"
	}
	cat := ""
	if idOK {
		cat = windowsCategory(svc, id, sc.val(e, sEventType), linux)
	}
	fill(&e.Log, product, cat, svc)

	switch {
	case svc == "security" && id == 4688:
		// thor.yml process_creation_2 fieldmappings.
		n.rename(e, sc, sNewProcessName, sImage)
		n.rename(e, sc, sParentProcessName, sParentImage)
	case cat == "antivirus":
		// thor.yml windows-defender-antivirus-mapping fieldmappings. The
		// Defender names stay too: the windefend service's rules use them.
		if v, ok := sc.get(e, sThreatName); ok && !sc.has(sSignature) {
			n.set(e, sc, sSignature, v)
		}
		if v, ok := sc.get(e, sPath); ok && !sc.has(sFilename) {
			n.set(e, sc, sFilename, v)
		}
	}
	if h, ok := sc.first(e, sHashes, sHash); ok {
		n.splitHashes(e, sc, h)
	}
	if e.Host == "" {
		e.Host = sc.val(e, sComputer)
	}
	t, _ := sc.first(e, sTimeCreated, sAtTimestamp, sTimeGenerated, sUtcTime, sEventTime)
	return t
}

// splitHashes adds md5, sha1, sha256 and imphash from Sysmon's
// "SHA1=…,MD5=…,SHA256=…,IMPHASH=…" so that IOC matching and typed columns
// see each hash on its own. The values share the Hashes string's memory.
func (n *Normalizer) splitHashes(e *event.Event, sc *scan, h string) {
	for h != "" {
		var part string
		part, h, _ = strings.Cut(h, ",")
		alg, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			continue
		}
		var s slot
		switch {
		case strings.EqualFold(alg, "MD5"):
			s = sMD5
		case strings.EqualFold(alg, "SHA1"):
			s = sSHA1
		case strings.EqualFold(alg, "SHA256"):
			s = sSHA256
		case strings.EqualFold(alg, "IMPHASH"):
			s = sImphash
		default:
			continue
		}
		n.set(e, sc, s, v)
	}
}

// fill sets the empty parts of ls: what intake already knew stays.
func fill(ls *event.LogSource, product, category, service string) {
	if ls.Product == "" {
		ls.Product = product
	}
	if ls.Category == "" {
		ls.Category = category
	}
	if ls.Service == "" {
		ls.Service = service
	}
}
