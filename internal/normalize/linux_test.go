// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

func TestSyslog(t *testing.T) {
	t.Parallel()
	n := New()
	tests := []struct {
		name   string
		in     []string
		want   event.LogSource
		host   string
		fields map[string]string
	}{
		{
			name: "sshd failed password",
			in: []string{"facility", "authpriv", "severity", "info", "hostname", "LabSZ", "program", "sshd", "pid", "24200",
				"message", "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2"},
			want: event.LogSource{Product: "linux", Service: "sshd"}, host: "LabSZ",
			fields: map[string]string{"User": "webmaster", "SourceIp": "173.234.31.186", "SourcePort": "38926",
				"AuthMethod": "password", "AuthResult": "failure"},
		},
		{
			name: "sshd accepted publickey over IPv6",
			in: []string{"hostname", "h", "program", "sshd",
				"message", "Accepted publickey for alice from 2001:db8::7 port 50022 ssh2: ED25519 SHA256:abc"},
			want: event.LogSource{Product: "linux", Service: "sshd"},
			fields: map[string]string{"User": "alice", "SourceIp": "2001:db8::7", "SourcePort": "50022",
				"AuthMethod": "publickey", "AuthResult": "success"},
		},
		{
			name: "sshd-session (OpenSSH 9.8) connection closed",
			in:   []string{"program", "sshd-session", "message", "Connection closed by authenticating user root 10.1.2.3 port 41000 [preauth]"},
			want: event.LogSource{Product: "linux", Service: "sshd"},
			fields: map[string]string{"User": "root", "SourceIp": "10.1.2.3", "SourcePort": "41000",
				"AuthResult": "<absent>"},
		},
		{
			name:   "sshd pam_unix old style program",
			in:     []string{"program", "sshd(pam_unix)", "message", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 "},
			want:   event.LogSource{Product: "linux", Service: "sshd"},
			fields: map[string]string{"SourceIp": "218.188.2.4", "AuthResult": "failure", "User": "<absent>"},
		},
		{
			name: "sshd host name is no address",
			in:   []string{"program", "sshd", "message", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=ec2-1-2-3-4.compute.example.com "},
			want: event.LogSource{Product: "linux", Service: "sshd"}, fields: map[string]string{"SourceIp": "<absent>"},
		},
		{
			name: "sudo",
			in: []string{"program", "sudo", "facility", "authpriv",
				"message", "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u ; echo x"},
			want: event.LogSource{Product: "linux", Service: "sudo"},
			fields: map[string]string{"User": "alice", "TTY": "pts/0", "PWD": "/home/alice", "USER": "root",
				"COMMAND": "/usr/bin/id -u ; echo x"},
		},
		{
			name:   "sudo CVE-2019-14287 target",
			in:     []string{"program", "sudo", "message", "bob : TTY=pts/1 ; PWD=/ ; USER=#-1 ; COMMAND=/bin/bash"},
			want:   event.LogSource{Product: "linux", Service: "sudo"},
			fields: map[string]string{"USER": "#-1", "User": "bob"},
		},
		{name: "cron upper case", in: []string{"program", "CRON", "message", "(root) CMD (run-parts /etc/cron.hourly)"},
			want: event.LogSource{Product: "linux", Service: "cron"}},
		{name: "unknown program on authpriv", in: []string{"program", "dovecot", "facility", "10", "message", "auth failed"},
			want: event.LogSource{Product: "linux", Service: "auth"}},
		{name: "unknown program", in: []string{"program", "named", "message", "client denied AXFR from 1.2.3.4"},
			want: event.LogSource{Product: "linux", Service: "syslog"}},
		{name: "vsftpd", in: []string{"program", "vsftpd", "message", "Bad HTTP verb."},
			want: event.LogSource{Product: "linux", Service: "vsftpd"}},
		{
			name: "auditd through audisp",
			in: []string{"program", "audispd", "hostname", "h1",
				"message", `node=h1 type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0="arp" a1=2D61`},
			want:   event.LogSource{Product: "linux", Service: "auditd"},
			fields: map[string]string{"type": "EXECVE", "a0": "arp", "a1": "-a", "node": "h1", "msg": "audit(1604994496.155:92733)"},
		},
		{
			name: "cisco command accounting",
			in:   []string{"hostname", "172.16.5.10", "message", "6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:no access-session port-control"},
			want: event.LogSource{Product: "cisco", Service: "aaa"},
		},
		{
			name: "apache access log through syslog",
			in: []string{"program", "apache2", "message",
				`192.168.105.83 - - [11/Jul/2018:08:41:28 +0300] "GET /manager HTTP/1.1" 302 -`},
			want:   event.LogSource{Category: "webserver", Service: "apache"},
			fields: map[string]string{"c-ip": "192.168.105.83", "cs-uri-stem": "/manager", "sc-status": "302"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent(tt.in...)
			e.Time = received - int64(time.Minute) // intake read the header
			n.Event(e)
			if e.Log != tt.want {
				t.Errorf("Event(%q).Log = %+v, want %+v", tt.in, e.Log, tt.want)
			}
			if tt.host != "" && e.Host != tt.host {
				t.Errorf("Host = %q, want %q", e.Host, tt.host)
			}
			checkFields(t, e, tt.fields)
			checkUnique(t, e)
		})
	}
}

func TestFilebeatLine(t *testing.T) {
	t.Parallel()
	e := newEvent(samples()["filebeat"]...)
	New().Event(e)
	if e.Log != (event.LogSource{Product: "linux", Service: "sudo"}) || e.Host != "LabSZ" || e.Flags != 0 {
		t.Errorf("Log %+v Host %q flags %v", e.Log, e.Host, e.Flags.Names())
	}
	if want := time.Date(2025, 12, 10, 6, 55, 46, 123e6, time.UTC); e.Time != want.UnixNano() {
		t.Errorf("Time %v, want @timestamp %v", e.TimeOf(), want)
	}
	checkFields(t, e, map[string]string{"program": "sudo", "hostname": "LabSZ", "USER": "root", "User": "alice",
		"message": "alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id"})
}

// TestSSHDLoghub normalises loghub's OpenSSH sample (2,000 real sshd lines
// of a server under brute force) as raw lines and checks the derived user,
// address and result against loghub's own parse (the structured CSV's
// template parameters).
func TestSSHDLoghub(t *testing.T) {
	t.Parallel()
	dir := shareddata.Path(t, "loghub/OpenSSH")
	lines := readLines(t, dir+"/OpenSSH_2k.log")
	f, err := os.Open(dir + "/OpenSSH_2k.log_structured.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	if len(rows) != len(lines) {
		t.Fatalf("%d lines, %d CSV rows", len(lines), len(rows))
	}
	// Per template: which parameter is the user and which the address, and
	// the result.
	type expect struct {
		user, ip int // parameter index, -1 none
		result   string
	}
	templates := map[string]expect{
		"E1": {0, 1, "success"}, "E2": {-1, 0, ""}, "E3": {-1, 0, ""}, "E6": {-1, 0, ""}, "E7": {-1, 0, ""},
		"E8": {0, 1, "failure"}, "E9": {0, 1, "failure"}, "E10": {0, 1, "failure"}, "E13": {0, 1, "failure"},
		"E14": {-1, 1, "failure"}, "E19": {-1, 2, "failure"}, "E20": {3, 2, "failure"}, "E23": {0, -1, "success"},
		"E24": {-1, 0, ""}, "E25": {-1, 0, ""}, "E26": {-1, 0, ""}, "E27": {-1, 1, ""},
		"E15": {-1, 3, "failure"}, "E16": {-1, 3, "failure"}, "E17": {-1, 3, "failure"},
	}
	n := New()
	checked, failures := 0, 0
	for i, line := range lines {
		row := rows[i]
		content, id, tmpl := row[6], row[7], row[8]
		e := newEvent("message", line)
		n.Event(e)
		if e.Log != (event.LogSource{Product: "linux", Service: "sshd"}) || e.Host != "LabSZ" || e.Flags != 0 {
			t.Fatalf("line %d %q: Log %+v Host %q Flags %v", i+1, line, e.Log, e.Host, e.Flags.Names())
		}
		want, ok := templates[id]
		if !ok {
			continue
		}
		params := templateParams(tmpl, content)
		if params == nil {
			t.Fatalf("line %d: template %q does not match %q", i+1, tmpl, content)
		}
		got := fields(e)
		// A user name may hold spaces (an attacker tried " 0101"); loghub's
		// parse trims them.
		if want.user >= 0 && strings.TrimSpace(got["User"]) != params[want.user] {
			t.Errorf("line %d %q: User = %q, want %q", i+1, content, got["User"], params[want.user])
		}
		if want.ip >= 0 {
			ip := params[want.ip]
			if !isIP(ip) {
				ip = "" // a host name in rhost
			}
			if got["SourceIp"] != ip {
				t.Errorf("line %d %q: SourceIp = %q, want %q", i+1, content, got["SourceIp"], ip)
			}
		}
		if got["AuthResult"] != want.result {
			t.Errorf("line %d %q: AuthResult = %q, want %q", i+1, content, got["AuthResult"], want.result)
		}
		if got["AuthResult"] == "failure" {
			failures++
		}
		checked++
	}
	t.Logf("%d sshd lines checked against loghub's parse, %d authentication failures", checked, failures)
	if checked < 1500 {
		t.Errorf("only %d lines had a checked template", checked)
	}
}

// templateParams returns the values of a loghub template's <*> in s.
func templateParams(tmpl, s string) []string {
	parts := strings.Split(tmpl, "<*>")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	re := regexp.MustCompile("^" + strings.Join(parts, "(.*?)") + "$")
	m := re.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		m = re.FindStringSubmatch(s)
	}
	if m == nil {
		return nil
	}
	for i := range m {
		m[i] = strings.TrimSpace(m[i])
	}
	return m[1:]
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		if s.Text() != "" {
			out = append(out, s.Text())
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// zipFile returns the content of the first file in a zip archive.
func zipFile(t testing.TB, path string) []byte {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Fatalf("%s: empty archive", path)
	return nil
}

func TestAuditd(t *testing.T) {
	t.Parallel()
	n := New()
	// OTRF sh_arp_cache: audit.log lines as a file import gives them.
	b := zipFile(t, shareddata.Path(t, "otrf-security-datasets/datasets/atomic/linux/discovery/host/sh_arp_cache.zip"))
	var got []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		e := newEvent("message", line)
		n.Event(e)
		if e.Log != (event.LogSource{Product: "linux", Service: "auditd"}) || e.Flags != 0 {
			t.Fatalf("%q: Log %+v, flags %v %s", line, e.Log, e.Flags.Names(), e.Reason)
		}
		if want := time.Unix(1604994496, 155e6).UnixNano(); e.Time < want || e.Time > want+int64(time.Second) {
			t.Errorf("%q: Time %v", line, e.TimeOf())
		}
		got = append(got, fields(e))
	}
	want := []map[string]string{
		{"type": "SYSCALL", "syscall": "59", "a0": "558e251634a0", "comm": "arp", "exe": "/usr/sbin/arp", "key": "(null)",
			"pid": "1631", "ppid": "29002", "auid": "1000", "msg": "audit(1604994496.155:92733)"},
		{"type": "EXECVE", "argc": "2", "a0": "arp", "a1": "-a"},
		{"type": "CWD", "cwd": "/home/wardog"},
		{"type": "PATH", "item": "0", "name": "/usr/sbin/arp", "nametype": "NORMAL"},
		{"type": "PATH", "item": "1", "name": "/lib64/ld-linux-x86-64.so.2"},
		{"type": "PROCTITLE", "proctitle": "arp -a"},
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("record %d field %s = %q, want %q", i, k, got[i][k], v)
			}
		}
	}

	tests := []struct {
		name, line string
		want       map[string]string
	}{
		{"hex EXECVE argument", `type=EXECVE msg=audit(1.5:1): argc=3 a0="sh" a1="-c" a2=6563686F2068656C6C6F`,
			map[string]string{"a2": "echo hello", "a1": "-c"}},
		{"enriched format", "type=SYSCALL msg=audit(1700000000.000:5): arch=c000003e syscall=319 success=yes exit=3 a0=7f comm=\"ecasound\" exe=\"/usr/bin/ecasound\" key=(null)\x1dARCH=x86_64 SYSCALL=memfd_create AUID=\"alice\"",
			map[string]string{"SYSCALL": "memfd_create", "syscall": "319", "AUID": "alice", "a0": "7f", "exe": "/usr/bin/ecasound"}},
		{"user record with nested msg", `type=USER_AUTH msg=audit(1700000000.123:77): pid=812 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct="root" exe="/usr/sbin/sshd" hostname=10.0.0.9 addr=10.0.0.9 terminal=ssh res=failed'`,
			map[string]string{"op": "PAM:authentication", "acct": "root", "exe": "/usr/sbin/sshd", "addr": "10.0.0.9", "res": "failed", "pid": "812"}},
		{"hex name", `type=PATH msg=audit(1.0:2): item=0 name=2F746D702F61206220 inode=1`,
			map[string]string{"name": "/tmp/a b"}},
		{"unquoted plain value stays", `type=SYSCALL msg=audit(1.0:3): comm=zz key=abc`,
			map[string]string{"comm": "zz", "key": "abc"}},
		{"auoms with unquoted proctitle", `type=AUOMS_EXECVE audit(1652292621.986:84138): SchemaVersion="1" node=UBUNTU5 syscall=execve comm="java" key=auoms,delete proctitle=/usr/bin/java -Dx=1 -jar a.jar redactors= containerid=`,
			map[string]string{"proctitle": "/usr/bin/java -Dx=1 -jar a.jar", "syscall": "execve", "key": "auoms,delete",
				"redactors": "", "node": "UBUNTU5", "type": "AUOMS_EXECVE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent("message", tt.line)
			n.Event(e)
			if e.Log.Service != "auditd" {
				t.Errorf("Log = %+v", e.Log)
			}
			checkFields(t, e, tt.want)
			checkUnique(t, e)
		})
	}
}

// TestAzureSyslog reads the OTRF Log4Shell Linux logs, exported from Azure
// Monitor's Syslog table: Sysmon for Linux events as XML and auoms audit
// records in SyslogMessage.
func TestAzureSyslog(t *testing.T) {
	t.Parallel()
	n := New()
	base := "otrf-security-datasets/datasets/compound/Log4Shell/"
	sysmon := zipFile(t, shareddata.Path(t, base+"syslog_sysmon_log4shell_cve2021_44228_jndi_reference.zip"))
	cats := map[string]int{}
	for _, doc := range decodeAll(t, strings.NewReader(string(sysmon))) {
		e := jsonEvent(doc)
		n.Event(e)
		if e.Log.Product != "linux" || e.Log.Service != "sysmon" || e.Host != "UBUNTU5" || e.Flags != 0 {
			t.Fatalf("Log %+v Host %q Flags %v %s: %v", e.Log, e.Host, e.Flags.Names(), e.Reason, fields(e))
		}
		cats[e.Log.Category]++
		f := fields(e)
		if e.Log.Category == "process_creation" && (f["Image"] == "" || f["CommandLine"] == "" || f["ParentImage"] == "") {
			t.Errorf("process_creation without Image, CommandLine or ParentImage: %v", f)
		}
		if f["Channel"] != "Linux-Sysmon/Operational" || f["Provider_Name"] != "Linux-Sysmon" || f["Computer"] != "UBUNTU5" {
			t.Errorf("System fields: %v", f)
		}
	}
	want := map[string]int{"process_termination": 50, "process_creation": 31, "network_connection": 6, "file_event": 4, "file_delete": 2}
	for c, k := range want {
		if cats[c] != k {
			t.Errorf("%d events of category %s, want %d (all: %v)", cats[c], c, k, cats)
		}
	}
	auoms := zipFile(t, shareddata.Path(t, base+"syslog_auoms_auditd_log4shell_cve2021_44228_jndi_reference.zip"))
	for _, doc := range decodeAll(t, strings.NewReader(string(auoms))) {
		e := jsonEvent(doc)
		n.Event(e)
		f := fields(e)
		if e.Log != (event.LogSource{Product: "linux", Service: "auditd"}) || f["type"] != "AUOMS_EXECVE" || f["exe"] == "" || e.Flags != 0 {
			t.Fatalf("Log %+v Flags %v: %v", e.Log, e.Flags.Names(), f)
		}
	}
}
