// SPDX-License-Identifier: Apache-2.0

package rulepack_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// The pack's rules that raise alerts, by id.
const (
	winBruteForce    = "476eb251-8064-4f1a-8522-ead472f0abe4"
	winSpray         = "46cb85d1-453a-466d-af88-316190a64f2a"
	winBruteSuccess  = "bc400e07-b78d-4aec-81e0-15efb376875c"
	winExplicitSpray = "5ee981ef-1559-4e36-9e60-b319d43339fb"
	sshBruteForce    = "c10b291f-d8f4-4632-8ed8-81b5da001681"
	sshSpray         = "9d74d4ae-3f57-44cd-9e7e-36d6021b4390"
	sshBruteSuccess  = "658b7ab6-95fe-4269-a6fe-d8d48966a968"
	localAdmins      = "10a6be0d-ef14-4946-91f2-bb99f195c762"
	domainAdmins     = "ebdaa0f5-713c-4334-b443-f6fe4e109660"
	builtinGroup     = "623fb039-c8de-413b-ba9f-1a1be4b1ea25"
	linuxAdminGroup  = "c1ebaaa4-6c49-4a7a-a9b5-3d60cb6b22df"
	auditdAdminGroup = "4709ce80-ed15-4f61-a5a6-b0d5c89dba9a"
	securityCleared  = "e58212e4-b31b-4644-8699-3a47c5bb9445"
	eventLogCleared  = "31207934-c6d1-4119-b380-d59eb8368933"
	rdpPublic        = "a54414b7-f4b7-495e-8dbc-9ec8e1bd8df6"
	networkPublic    = "c1dfe010-a767-4451-a725-8aeaad2f8151"
	sshPublic        = "cc184bb5-2dcd-480a-9812-a9a37ddb7ae5"
	offHours         = "76a20eab-ef09-4f64-a5a6-b0d5c89dba9a"
	massDelete       = "73d43df1-e96e-40ab-ac1b-364855ed84a8"
	massExtension    = "2b2f5000-d847-4578-a41e-6fa04c7248a2"
)

// some in a want map means "at least once" (correlations fire once per
// window of inputs, so a long burst fires several times).
const some = -1

// check compares the alerts raised with want: a rule missing from want
// must raise none.
func check(t *testing.T, e *engine, got, want map[string]int) {
	t.Helper()
	for id, n := range want {
		if e.byID[id] == nil {
			t.Errorf("want names rule %s, which the pack does not hold", id)
		}
		switch {
		case n == some && got[id] == 0:
			t.Errorf("%q: no alert, want at least one", e.title(id))
		case n != some && got[id] != n:
			t.Errorf("%q: %d alerts, want %d", e.title(id), got[id], n)
		}
	}
	for id, n := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%q: %d alerts, want none", e.title(id), n)
		}
	}
}

// TestSamples replays real attack recordings from the shared data: each
// rule fires on the attack it is written for, and no rule fires on the
// rest (many of the files are near misses for another rule).
func TestSamples(t *testing.T) {
	t.Parallel()
	const (
		bluecli = "deepbluecli-evtx/"
		attack  = "evtx-attack-samples/"
		mitre   = "evtx-to-mitre-attack/"
		brute   = mitre + "TA0006-Credential Access/T1110.xxx-Brut force/"
		account = mitre + "TA0003-Persistence/T1098.xxx-Account manipulation/"
	)
	tests := []struct {
		name, file string
		want       map[string]int
	}{
		{"SMB password guessing, 3,561 failed logons", bluecli + "smb-password-guessing-security.evtx",
			map[string]int{winBruteForce: some}},
		{"password spraying through explicit credentials", bluecli + "password-spray.evtx",
			map[string]int{winExplicitSpray: some, securityCleared: 1}},
		{"Kerberos user enumeration (Kerbrute)", brute + "ID4768-4771-Kerberos user enumeration (Kerbrute).evtx",
			map[string]int{winSpray: some}},
		// Near misses: 8 failures per account, 5 distinct accounts.
		{"local brute force below the threshold", brute + "ID 4776,4625-AccountRestore local bruteforce.evtx", nil},
		{"OpenSSH for Windows, 5 failures", brute + "ID4625-OpenSSH brutforce with valid users.evtx", nil},
		{"OpenSSH for Windows, 5 unknown users", brute + "ID4625-OpenSSH brutforce with non existing users.evtx",
			map[string]int{securityCleared: 1}},
		{"new user added to Users and Administrators", bluecli + "new-user-security.evtx",
			map[string]int{localAdmins: 1}},
		{"Guest and Network Service added to Administrators", attack + "Persistence/Network_Service_Guest_added_to_admins_4732.evtx",
			map[string]int{localAdmins: 2}},
		{"member added to Domain, Enterprise, Schema and Enterprise Key Admins",
			account + "ID4728-4756-Member added to sensitive domain groups.evtx", map[string]int{domainAdmins: 4}},
		{"many members added to an ordinary domain group", account + "ID4728-Massive account group membership change.evtx", nil},
		{"member added to DnsAdmins", account + "ID4732-DNSadmin new member added.evtx", map[string]int{builtinGroup: 1}},
		{"Security log cleared", attack + "Defense Evasion/DE_1102_security_log_cleared.evtx",
			map[string]int{securityCleared: 1}},
		{"System log cleared", attack + "Defense Evasion/DE_104_system_log_cleared.evtx",
			map[string]int{eventLogCleared: 1}},
		{"every log cleared with wevtutil", mitre + "TA0005-Defense Evasion/T1070.001-Clear Windows event logs/ID104-1102-Event log cleared.evtx",
			map[string]int{eventLogCleared: 90, securityCleared: 1}},
		// Event 104 of the Remote Desktop channel is no log clearing.
		{"RdpCoreTS event 104", attack + "Lateral Movement/DFIR_RDP_Client_TimeZone_RdpCoreTs_104_example.evtx", nil},
		// Remote Desktop through a tunnel logs on from 127.0.0.1.
		{"Remote Desktop over a local tunnel", attack + "Command and Control/DE_RDP_Tunneling_4624.evtx", nil},
		// Object access 4663 that reads browser files deletes nothing.
		{"4663 reads of browser files", attack + "Credential Access/CA_chrome_firefox_opera_4663.evtx",
			map[string]int{securityCleared: 1}},
		// Elevated network logons at night are not in the off-hours rule.
		{"Sliver C2 with elevated network logons", bluecli + "sliver-security.evtx", map[string]int{securityCleared: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			check(t, e, e.alerts(evtxEvents(t, tt.file)), tt.want)
		})
	}
}

// TestSSHSamples replays real sshd logs (loghub): an Internet-facing server
// under constant guessing, and an old system whose sshd logs through PAM.
func TestSSHSamples(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		received   time.Time // the lines carry no year
		want       map[string]int
	}{
		{"OpenSSH server on the Internet", "loghub/OpenSSH/OpenSSH_2k.log", time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC),
			map[string]int{sshBruteForce: some, sshSpray: some, sshPublic: 1}},
		{"sshd(pam_unix) on an old Linux", "loghub/Linux/Linux_2k.log", time.Date(2005, 12, 31, 0, 0, 0, 0, time.UTC),
			map[string]int{sshBruteForce: some}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			check(t, e, e.alerts(logLines(t, tt.file, tt.received)), tt.want)
		})
	}
}

// Synthetic event builders for the cases the recordings lack.

func logon(at time.Time, logonType, ip, user string, more ...string) event.Event {
	return security(at, "4624", append([]string{"LogonType", logonType, "IpAddress", ip, "TargetUserName", user,
		"TargetDomainName", "EXAMPLE", "TargetUserSid", "S-1-5-21-1004336348-1177238915-682003330-1105"}, more...)...)
}

func failedLogon(at time.Time, ip, user string) event.Event {
	return security(at, "4625", "LogonType", "3", "IpAddress", ip, "TargetUserName", user,
		"Status", "0xc000006d", "SubStatus", "0xc000006a", "TargetUserSid", "S-1-0-0")
}

// series builds n events one step apart from base.
func series(n int, step time.Duration, f func(i int, at time.Time) event.Event) []event.Event {
	out := make([]event.Event, 0, n)
	for i := range n {
		out = append(out, f(i, base.Add(time.Duration(i)*step)))
	}
	return out
}

func cat(parts ...[]event.Event) []event.Event { return slices.Concat(parts...) }

func one(e event.Event) []event.Event { return []event.Event{e} }

func sshd(at time.Time, msg string) event.Event { return syslogLine(at, "web01", "sshd", msg) }

func fileDelete(i int, at time.Time, access string) event.Event {
	return security(at, "4663", "SubjectUserName", "hanako", "SubjectUserSid", "S-1-5-21-1-2-3-1107",
		"ObjectType", "File", "ObjectName", fmt.Sprintf(`D:\Share\経理\2026\請求書%03d.xlsx`, i),
		"AccessList", access+"\n\t\t\t\t", "AccessMask", "0x10000", "ProcessName", `C:\Windows\System32\svchost.exe`)
}

func sysmonFile(at time.Time, image, target string) event.Event {
	return win(at, "EventID", "11", "Channel", "Microsoft-Windows-Sysmon/Operational",
		"Provider_Name", "Microsoft-Windows-Sysmon", "Computer", "pc07.example.local",
		"Image", image, "TargetFilename", target, "ProcessId", "4242")
}

const ransom = `C:\Users\sato\AppData\Local\Temp\svch0st.exe`

// TestSynthetic covers each rule with events built field by field: what it
// must catch and the near misses it must not.
func TestSynthetic(t *testing.T) {
	t.Parallel()
	elevated := func(hourUTC, minute int, logonType, ip string, more ...string) event.Event {
		at := time.Date(2026, 3, 3, hourUTC, minute, 0, 0, time.UTC)
		return logon(at, logonType, ip, "it-admin", append([]string{"ElevatedToken", "%%1842"}, more...)...)
	}
	tests := []struct {
		name string
		evs  []event.Event
		want map[string]int
	}{
		// Remote access from outside.
		{"RDP from a public address", one(logon(base, "10", "203.0.113.7", "taro")), map[string]int{rdpPublic: 1}},
		{"RDP reconnect from a public address", one(logon(base, "7", "198.51.100.23", "taro")), map[string]int{rdpPublic: 1}},
		{"RDP from an IPv4-mapped public address", one(logon(base, "10", "::ffff:203.0.113.7", "taro")), map[string]int{rdpPublic: 1}},
		{"RDP from a public IPv6 address", one(logon(base, "10", "2001:db8:1::5", "taro")), map[string]int{rdpPublic: 1}},
		{"RDP from private and local addresses", cat(
			one(logon(base, "10", "192.168.1.20", "taro")), one(logon(base, "10", "172.31.255.1", "taro")),
			one(logon(base, "10", "10.200.0.4", "taro")), one(logon(base, "10", "127.0.0.1", "taro")),
			one(logon(base, "10", "100.64.3.2", "taro")), one(logon(base, "10", "169.254.10.1", "taro")),
			one(logon(base, "10", "fd12:3456::1", "taro")), one(logon(base, "10", "fe80::1c2:3ff:fe4:5", "taro")),
			one(logon(base, "10", "::1", "taro")), one(logon(base, "10", "-", "taro")),
			one(logon(base, "7", "-", "taro")), one(security(base, "4624", "LogonType", "10", "TargetUserName", "taro")),
		), nil},
		{"console logon with a public-looking address", one(logon(base, "2", "203.0.113.7", "taro")), nil},
		{"network logon from a public address", one(logon(base, "3", "198.51.100.9", "guest")), map[string]int{networkPublic: 1}},
		{"clear-text logon from a public address", one(logon(base, "8", "203.0.113.80", "web")), map[string]int{networkPublic: 1}},
		{"network logon from the LAN", one(logon(base, "3", "10.1.1.1", "guest")), nil},
		{"service logon", one(logon(base, "5", "-", "SYSTEM")), nil},
		{"SSH login from a public address", one(sshd(base, "Accepted publickey for alice from 203.0.113.50 port 50022 ssh2: ED25519 SHA256:abc")),
			map[string]int{sshPublic: 1}},
		{"SSH login from the LAN and session lines", cat(
			one(sshd(base, "Accepted password for alice from 192.168.10.5 port 50022 ssh2")),
			one(sshd(base, "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)")),
			one(sshd(base, "Failed password for alice from 203.0.113.50 port 50022 ssh2")),
		), nil},

		// Off-hours administrator logon (JST = UTC+9).
		{"elevated RDP logon at 22:00 JST", one(elevated(13, 0, "10", "192.168.1.10")), map[string]int{offHours: 1}},
		{"elevated console logon at 19:00 JST", one(elevated(10, 0, "2", "127.0.0.1")), map[string]int{offHours: 1}},
		{"elevated cached logon at 07:59 JST", one(elevated(22, 59, "11", "127.0.0.1")), map[string]int{offHours: 1}},
		{"elevated RDP logon at 03:00 JST through Winlogbeat", one(winlogbeat(time.Date(2026, 3, 3, 18, 0, 0, 0, time.UTC),
			"winlog.event_id", "4624", "winlog.channel", "Security", "winlog.computer_name", "fs01.example.local",
			"winlog.event_data.LogonType", "10", "winlog.event_data.IpAddress", "192.168.1.10",
			"winlog.event_data.TargetUserName", "it-admin", "winlog.event_data.ElevatedToken", "%%1842")),
			map[string]int{offHours: 1}},
		{"elevated RDP logon at 12:00 JST through Winlogbeat", one(winlogbeat(time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC),
			"winlog.event_id", "4624", "winlog.channel", "Security", "winlog.computer_name", "fs01.example.local",
			"winlog.event_data.LogonType", "10", "winlog.event_data.IpAddress", "192.168.1.10",
			"winlog.event_data.TargetUserName", "it-admin", "winlog.event_data.ElevatedToken", "%%1842")),
			nil},
		{"elevated logons in business hours", cat(
			one(elevated(9, 59, "10", "192.168.1.10")), // 18:59 JST
			one(elevated(23, 0, "2", "127.0.0.1")),     // 08:00 JST
			one(elevated(2, 0, "10", "192.168.1.10")),  // 11:00 JST
		), nil},
		{"near misses at night", cat(
			one(elevated(13, 0, "3", "192.168.1.10")), // network logon
			one(logon(time.Date(2026, 3, 3, 13, 0, 0, 0, time.UTC), "10", "192.168.1.10", "taro", "ElevatedToken", "%%1843")),
			one(elevated(13, 0, "2", "-", "TargetDomainName", "Window Manager", "TargetUserName", "DWM-1")),
			one(elevated(13, 0, "2", "-", "TargetUserSid", "S-1-5-18", "TargetUserName", "SYSTEM")),
			one(elevated(13, 0, "2", "-", "TargetUserName", "PC07$")),
		), nil},

		// Brute force, spraying and success after guessing.
		{"12 failures then success from the same address", cat(
			series(12, 10*time.Second, func(_ int, at time.Time) event.Event { return failedLogon(at, "203.0.113.9", "yamada") }),
			one(logon(base.Add(5*time.Minute), "3", "203.0.113.9", "yamada")),
		), map[string]int{winBruteForce: 1, winBruteSuccess: 1, networkPublic: 1}},
		{"12 failures, success from elsewhere", cat(
			series(12, 10*time.Second, func(_ int, at time.Time) event.Event { return failedLogon(at, "203.0.113.9", "yamada") }),
			one(logon(base.Add(5*time.Minute), "3", "192.168.1.30", "yamada")),
		), map[string]int{winBruteForce: 1}},
		{"success before the failures", cat(
			one(logon(base.Add(-time.Minute), "3", "192.168.1.30", "yamada")),
			series(12, 10*time.Second, func(_ int, at time.Time) event.Event { return failedLogon(at, "192.168.1.30", "yamada") }),
		), map[string]int{winBruteForce: 1}},
		{"9 failures then success", cat(
			series(9, 10*time.Second, func(_ int, at time.Time) event.Event { return failedLogon(at, "192.168.1.30", "yamada") }),
			one(logon(base.Add(5*time.Minute), "3", "192.168.1.30", "yamada")),
		), nil},
		{"10 failures spread over 20 minutes", series(10, 2*time.Minute+10*time.Second,
			func(_ int, at time.Time) event.Event { return failedLogon(at, "192.168.1.30", "yamada") }), nil},
		{"machine account failures", series(20, time.Second,
			func(_ int, at time.Time) event.Event { return failedLogon(at, "192.168.1.30", "PC07$") }), nil},
		{"12 accounts sprayed from one address", series(12, 30*time.Second,
			func(i int, at time.Time) event.Event {
				return failedLogon(at, "198.51.100.20", fmt.Sprintf("user%02d", i))
			}),
			map[string]int{winSpray: 1}},
		{"9 accounts from one address", series(9, 30*time.Second,
			func(i int, at time.Time) event.Event {
				return failedLogon(at, "198.51.100.20", fmt.Sprintf("user%02d", i))
			}), nil},
		{"SSH guessing then success", cat(
			series(10, 3*time.Second, func(i int, at time.Time) event.Event {
				return sshd(at, fmt.Sprintf("Failed password for root from 203.0.113.77 port %d ssh2", 40000+i))
			}),
			one(sshd(base.Add(time.Minute), "Accepted password for root from 203.0.113.77 port 40100 ssh2")),
		), map[string]int{sshBruteForce: 1, sshBruteSuccess: 1, sshPublic: 1}},
		// PAM's line about the same attempt is not a second failure.
		{"5 SSH failures, each also logged by PAM", series(10, 3*time.Second, func(i int, at time.Time) event.Event {
			if i%2 == 1 {
				return sshd(at, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.77  user=root")
			}
			return sshd(at, fmt.Sprintf("Failed password for root from 203.0.113.77 port %d ssh2", 40000+i))
		}), nil},
		{"SSH user names sprayed", series(10, 5*time.Second, func(i int, at time.Time) event.Event {
			return sshd(at, fmt.Sprintf("Failed password for invalid user test%d from 198.51.100.3 port %d ssh2", i, 50000+i))
		}), map[string]int{sshSpray: 1}},

		// Administrator groups on Linux.
		{"usermod -aG sudo", one(syslogLine(base, "web01", "usermod", "add 'bob' to group 'sudo'")), map[string]int{linuxAdminGroup: 1}},
		{"usermod -aG wheel, shadow group", one(syslogLine(base, "web01", "usermod", "add 'bob' to shadow group 'wheel'")),
			map[string]int{linuxAdminGroup: 1}},
		{"useradd -G admin, old quoting", one(syslogLine(base, "web01", "useradd", "add `carol' to group `admin'")),
			map[string]int{linuxAdminGroup: 1}},
		{"gpasswd -a", one(syslogLine(base, "web01", "gpasswd", "user bob added by root to group sudo")), map[string]int{linuxAdminGroup: 1}},
		{"gpasswd -a, shadow group", one(syslogLine(base, "web01", "gpasswd", "user bob added by root to group wheel in /etc/gshadow")),
			map[string]int{linuxAdminGroup: 1}},
		{"gpasswd -a, read from auth.log", one(fileLine(base, "Mar  2 10:00:00 web01 gpasswd[2087]: user bob added by root to group sudo")),
			map[string]int{linuxAdminGroup: 1}},
		{"the same text from another program", one(syslogLine(base, "web01", "logger", "add 'bob' to group 'sudo'")), nil},
		{"other group changes", cat(
			one(syslogLine(base, "web01", "usermod", "add 'bob' to group 'docker'")),
			one(syslogLine(base, "web01", "usermod", "delete 'bob' from group 'sudo'")),
			one(syslogLine(base, "web01", "gpasswd", "user bob removed by root from group sudo")),
			one(syslogLine(base, "web01", "usermod", "add 'bob' to group 'sudoers-audit'")),
		), nil},
		{"auditd: usermod adds to sudo", one(auditLine(`type=USER_MGMT msg=audit(1772413200.123:456): pid=1234 uid=0 auid=1000 ses=3 subj=unconfined msg='op=add-user-to-group grp="sudo" acct="bob" exe="/usr/sbin/usermod" hostname=web01 addr=? terminal=pts/0 res=success'`)),
			map[string]int{auditdAdminGroup: 1}},
		{"auditd: useradd adds to a shadow group", one(auditLine(`type=USER_MGMT msg=audit(1772413200.123:457): pid=1235 uid=0 auid=1000 ses=3 subj=unconfined msg='op=add-to-shadow-group grp="wheel" acct="carol" exe="/usr/sbin/useradd" hostname=web01 addr=? terminal=pts/0 res=success'`)),
			map[string]int{auditdAdminGroup: 1}},
		{"auditd: usermod adds to another group", one(auditLine(`type=USER_MGMT msg=audit(1772413200.123:458): pid=1236 uid=0 auid=1000 ses=3 subj=unconfined msg='op=add-user-to-group grp="docker" acct="bob" exe="/usr/sbin/usermod" hostname=web01 addr=? terminal=pts/0 res=success'`)),
			nil},

		// Ransomware-like file activity.
		{"60 files renamed on a share in a minute", series(60, time.Second, func(i int, at time.Time) event.Event {
			return fileDelete(i, at, "%%1537")
		}), map[string]int{massDelete: 1}},
		{"60 files read in a minute", series(60, time.Second, func(i int, at time.Time) event.Event {
			return fileDelete(i, at, "%%4416")
		}), nil},
		{"one file renamed 60 times", series(60, time.Second, func(_ int, at time.Time) event.Event {
			return fileDelete(1, at, "%%1537")
		}), nil},
		{"60 files renamed over two minutes", series(60, 2*time.Second, func(i int, at time.Time) event.Event {
			return fileDelete(i, at, "%%1537")
		}), nil},
		{"25 documents written as .docx.locked", series(25, time.Second, func(i int, at time.Time) event.Event {
			return sysmonFile(at, ransom, fmt.Sprintf(`C:\Users\sato\Documents\見積書%02d.docx.locked`, i))
		}), map[string]int{massExtension: 1}},
		{"25 Office backup copies", series(25, time.Second, func(i int, at time.Time) event.Event {
			return sysmonFile(at, `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
				fmt.Sprintf(`C:\Users\sato\Documents\見積書%02d.docx.bak`, i))
		}), nil},
		{"19 documents with an appended extension", series(19, time.Second, func(i int, at time.Time) event.Event {
			return sysmonFile(at, ransom, fmt.Sprintf(`C:\Users\sato\Documents\見積書%02d.xlsx.crypt`, i))
		}), nil},
		{"25 ordinary documents", series(25, time.Second, func(i int, at time.Time) event.Event {
			return sysmonFile(at, ransom, fmt.Sprintf(`C:\Users\sato\Documents\見積書%02d.docx`, i))
		}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEngine(t)
			check(t, e, e.alerts(tt.evs), tt.want)
		})
	}
}

// fileLine builds a normalised event from one line of a log file.
func fileLine(received time.Time, line string) event.Event {
	e := event.Event{Received: received.UnixNano()}
	e.Add("message", line)
	norm.Event(&e)
	return e
}

// winlogbeat builds a normalised Winlogbeat document (flattened keys) sent
// at at.
func winlogbeat(at time.Time, kv ...string) event.Event {
	e := event.Event{Received: at.Add(time.Minute).UnixNano()}
	e.Add("@timestamp", at.UTC().Format(time.RFC3339Nano))
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	norm.Event(&e)
	return e
}

// auditLine builds a normalised auditd record as the syslog listener
// passes it on.
func auditLine(line string) event.Event {
	e := event.Event{Time: base.UnixNano(), Received: base.UnixNano(), Host: "web01"}
	e.Add("hostname", "web01")
	e.Add("program", "audisp-syslog")
	e.Add("message", line)
	norm.Event(&e)
	return e
}

// TestEventShapes guards the field names the rules rely on: if the
// normaliser renamed one, the rules above would silently stop matching.
func TestEventShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ev     event.Event
		ls     event.LogSource
		fields []string
	}{
		{"4624", logon(base, "10", "203.0.113.7", "taro"), event.LogSource{Product: "windows", Service: "security"},
			[]string{"EventID", "LogonType", "IpAddress", "TargetUserName", "Computer", "TimeCreated"}},
		{"sysmon 11", sysmonFile(base, ransom, `C:\x.docx.y`), event.LogSource{Product: "windows", Category: "file_event", Service: "sysmon"},
			[]string{"Image", "TargetFilename", "Computer"}},
		{"sshd", sshd(base, "Failed password for root from 203.0.113.77 port 1 ssh2"), event.LogSource{Product: "linux", Service: "sshd"},
			[]string{"hostname", "program", "message", "User", "SourceIp", "AuthMethod", "AuthResult"}},
		{"gpasswd", syslogLine(base, "web01", "gpasswd", "user bob added by root to group sudo"), event.LogSource{Product: "linux", Service: "auth"},
			[]string{"message"}},
		{"auditd", auditLine(`type=USER_MGMT msg=audit(1772413200.123:456): pid=1 uid=0 msg='op=add-user-to-group grp="sudo" acct="bob" res=success'`),
			event.LogSource{Product: "linux", Service: "auditd"}, []string{"type", "op", "grp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.ev.Log != tt.ls {
				t.Errorf("logsource %+v, want %+v", tt.ev.Log, tt.ls)
			}
			for _, f := range tt.fields {
				if v, ok := tt.ev.Lookup(f); !ok || v == "" || strings.ContainsAny(v, `"`) {
					t.Errorf("field %s = %q (present %t), want a clean value", f, v, ok)
				}
			}
		})
	}
}
