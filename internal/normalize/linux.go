// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"strings"

	"github.com/koban-csirt/koban/internal/event"
)

// syslogPrograms maps syslog program names (the tag before "[pid]:") to the
// Sigma service of product linux. Programs not listed get "auth" when they
// log to the auth or authpriv facility, else "syslog".
var syslogPrograms = map[string]string{
	"sshd":           "sshd",
	"sshd-session":   "sshd",
	"sudo":           "sudo",
	"su":             "auth",
	"login":          "auth",
	"passwd":         "auth",
	"pkexec":         "auth",
	"polkitd":        "auth",
	"systemd-logind": "auth",
	"useradd":        "auth",
	"userdel":        "auth",
	"usermod":        "auth",
	"groupadd":       "auth",
	"chpasswd":       "auth",
	"unix_chkpwd":    "auth",
	"cron":           "cron",
	"crond":          "cron",
	"anacron":        "cron",
	"crontab":        "cron",
	"auditd":         "auditd",
	"audispd":        "auditd",
	"audisp-syslog":  "auditd",
	"audit":          "auditd",
	"auoms":          "auditd",
	"vsftpd":         "vsftpd",
	"clamd":          "clamav",
	"freshclam":      "clamav",
	"clamav":         "clamav",
	"clamscan":       "clamav",
	"guacd":          "guacamole",
	"guacamole":      "guacamole",
	"sysmon":         "sysmon",
	"apache":         "apache",
	"apache2":        "apache",
	"httpd":          "apache",
	"nginx":          "nginx",
}

// syslog normalises an event from the syslog listener (or the Azure Monitor
// Syslog table after renaming). Intake sets the time from the header, so it
// returns the time text only for kinds that carry their own (auditd).
func (n *Normalizer) syslog(e *event.Event, sc *scan) string {
	if e.Host == "" {
		e.Host, _ = sc.first(e, sHostname, sSenderIP)
	}
	prog := sc.val(e, sProgram)
	msg := sc.val(e, sMessage)
	svc, ok := n.programs.get(prog)
	if i := strings.IndexByte(prog, '('); !ok && i > 0 {
		svc, _ = n.programs.get(prog[:i]) // "sshd(pam_unix)"
	}
	var t string
	switch {
	case svc == "sysmon" || svc == "" && strings.HasPrefix(msg, "<Event"):
		if strings.HasPrefix(msg, "<Event") {
			n.sysmonXML(e, sc, msg)
			return n.windows(e, sc)
		}
	case svc == "auditd" || svc == "" && isAuditLine(msg):
		if isAuditLine(msg) {
			svc = "auditd"
			t = n.auditd(e, sc, msg)
		}
	case svc == "sshd":
		n.sshd(e, sc, msg)
	case svc == "sudo":
		n.sudo(e, sc, msg)
	case svc == "apache" || svc == "nginx" || svc == "":
		if t = n.accessLog(e, sc, msg); t != "" {
			fill(&e.Log, "", "webserver", svc)
			return t
		}
	}
	if svc == "" {
		if fac, ok := ciscoFacility(prog, msg); ok {
			fill(&e.Log, "cisco", "", ciscoService(fac))
			return ""
		}
		svc = "syslog"
		if isAuthFacility(sc.val(e, sFacility)) {
			svc = "auth"
		}
	}
	fill(&e.Log, "linux", "", svc)
	return t
}

// isAuthFacility reports whether a syslog facility (name or number) is
// auth (4) or authpriv (10): what ends up in /var/log/auth.log.
func isAuthFacility(f string) bool {
	switch f {
	case "auth", "authpriv", "security", "4", "10":
		return true
	}
	return false
}

// message handles events whose only text is a message (file lines, and
// shippers that send raw lines): auditd records, Sysmon for Linux XML,
// syslog lines, Cisco IOS lines and web access logs are recognised.
func (n *Normalizer) message(e *event.Event, sc *scan) string {
	msg := sc.val(e, sMessage)
	switch {
	case isAuditLine(msg):
		if e.Host == "" {
			e.Host, _ = sc.first(e, sHostName, sHostHostname, sHostname)
		}
		fill(&e.Log, "linux", "", "auditd")
		return n.auditd(e, sc, msg)
	case strings.HasPrefix(msg, "<Event"):
		n.sysmonXML(e, sc, msg)
		return n.windows(e, sc)
	}
	if t := n.accessLog(e, sc, msg); t != "" {
		fill(&e.Log, "", "webserver", "")
		if e.Host == "" {
			e.Host, _ = sc.first(e, sHostName, sHostHostname)
		}
		return t
	}
	if ok := n.syslogLine(e, sc, msg); ok {
		if t := n.syslog(e, sc); t != "" {
			return t
		}
		return sc.val(e, sAtTimestamp) // a shipper's stamp has the year the line lacks
	}
	if fac, ok := ciscoFacility("", msg); ok {
		fill(&e.Log, "cisco", "", ciscoService(fac))
	}
	return n.generic(e, sc)
}

// syslogLine splits a BSD syslog line carried in a message field (Filebeat
// reading /var/log/auth.log, for one) into hostname, program, pid and
// message, and sets e.Time from its timestamp. The line has the shape
// "Jan  2 15:04:05 host prog[pid]: text" or "2006-01-02T15:04:05.999Z07:00
// host prog[pid]: text".
func (n *Normalizer) syslogLine(e *event.Event, sc *scan, line string) bool {
	var t int64
	var rest string
	if len(line) > 16 && line[3] == ' ' && line[15] == ' ' {
		var ok bool
		if t, ok = parseBSD(line[:15], e.Received); !ok {
			return false
		}
		rest = line[16:]
	} else if len(line) > 20 && line[4] == '-' {
		stamp, r, ok := strings.Cut(line, " ")
		if !ok {
			return false
		}
		if t, ok = parseISO(stamp); !ok {
			return false
		}
		rest = r
	} else {
		return false
	}
	host, rest, ok := strings.Cut(rest, " ")
	if !ok || host == "" {
		return false
	}
	tag, text, ok := strings.Cut(rest, ": ")
	if !ok || tag == "" || strings.IndexByte(tag, ' ') >= 0 {
		return false
	}
	prog, pid := tag, ""
	if i := strings.IndexByte(tag, '['); i > 0 && tag[len(tag)-1] == ']' {
		prog, pid = tag[:i], tag[i+1:len(tag)-1]
	}
	n.set(e, sc, sHostname, host)
	n.set(e, sc, sProgram, prog)
	n.setIfValue(e, sc, sPID, pid)
	n.set(e, sc, sMessage, text)
	if e.Time == 0 && !sc.has(sAtTimestamp) {
		e.Time = t
	}
	return true
}

// sshd derives User, SourceIp, SourcePort, AuthMethod and AuthResult
// ("success" or "failure") from OpenSSH's log lines: "Failed password for
// [invalid user ]U from IP port P ssh2", "Accepted publickey for U from IP
// port P ssh2: …", "Invalid user U from IP [port P]", "Connection closed by
// [authenticating user U ]IP port P", "Disconnected from [invalid ]user U IP
// port P", "Received disconnect from IP [port P]:…", "Did not receive
// identification string from IP", "reverse mapping checking getaddrinfo for
// H [IP] failed", and pam_unix's "authentication failure; … rhost=IP
// user=U". One switch case per message form keeps the forms side by side,
// hence the length.
func (n *Normalizer) sshd(e *event.Event, sc *scan, msg string) {
	if rest, ok := strings.CutPrefix(msg, "message repeated "); ok {
		if _, inner, ok := strings.Cut(rest, "[ "); ok {
			msg = strings.TrimSuffix(inner, " ]")
		}
	}
	msg = strings.TrimPrefix(msg, "error: ")
	var user, ip, port, method, result string
	switch {
	case strings.HasPrefix(msg, "Failed ") || strings.HasPrefix(msg, "Accepted "):
		verb, rest, _ := strings.Cut(msg, " ")
		m, rest, ok := strings.Cut(rest, " for ")
		if !ok {
			return
		}
		method, result = m, "failure"
		if verb == "Accepted" {
			result = "success"
		}
		rest = strings.TrimPrefix(rest, "invalid user ")
		user, rest, _ = cutLast(rest, " from ")
		ip, port = ipPort(rest)
	case strings.HasPrefix(msg, "Invalid user "):
		var rest string
		user, rest, _ = cutLast(msg[len("Invalid user "):], " from ")
		ip, port = ipPort(rest)
		result = "failure"
	case strings.HasPrefix(msg, "maximum authentication attempts exceeded for "):
		rest := strings.TrimPrefix(msg[len("maximum authentication attempts exceeded for "):], "invalid user ")
		user, rest, _ = cutLast(rest, " from ")
		ip, port = ipPort(rest)
		result = "failure"
	case strings.HasPrefix(msg, "Connection closed by "), strings.HasPrefix(msg, "Disconnected from "),
		strings.HasPrefix(msg, "Connection reset by "):
		_, rest, _ := strings.Cut(msg, " by ")
		if strings.HasPrefix(msg, "Disconnected from ") {
			rest = msg[len("Disconnected from "):]
		}
		for _, p := range []string{"authenticating user ", "invalid user ", "user "} {
			if r, ok := strings.CutPrefix(rest, p); ok {
				user, rest, _ = strings.Cut(r, " ")
				break
			}
		}
		ip, port = ipPort(rest)
	case strings.HasPrefix(msg, "Received disconnect from "), strings.HasPrefix(msg, "Did not receive identification string from "),
		strings.HasPrefix(msg, "Unable to negotiate with "), strings.HasPrefix(msg, "banner exchange: Connection from "):
		_, rest, _ := strings.Cut(msg, " from ")
		if strings.HasPrefix(msg, "Unable to negotiate with ") {
			rest = msg[len("Unable to negotiate with "):]
		}
		ip, port = ipPort(rest)
	case strings.HasPrefix(msg, "reverse mapping checking getaddrinfo for "):
		if _, rest, ok := strings.Cut(msg, " ["); ok {
			ip, _, _ = strings.Cut(rest, "]")
		}
	case strings.Contains(msg, "authentication failure"):
		ip = kvValue(msg, "rhost=")
		user = kvValue(msg, " user=")
		result = "failure"
	case strings.Contains(msg, "session opened for user "):
		_, rest, _ := strings.Cut(msg, "session opened for user ")
		user, _, _ = strings.Cut(rest, " ")
		user, _, _ = strings.Cut(user, "(")
		result = "success"
	}
	n.setIfValue(e, sc, sUser, user)
	if isIP(ip) {
		n.set(e, sc, sSourceIP, ip)
		n.setIfValue(e, sc, sSourcePort, port)
	}
	n.setIfValue(e, sc, sAuthMethod, method)
	n.setIfValue(e, sc, sAuthResult, result)
}

// cutLast is strings.Cut at the last sep: user names can hold " from ".
func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// ipPort reads "IP[ port P][ rest]" or "IP[:rest]".
func ipPort(s string) (ip, port string) {
	end := strings.IndexAny(s, " :")
	if end < 0 {
		return s, ""
	}
	ip, rest := s[:end], s[end:]
	if strings.Count(ip, ".") != 3 && end < len(s) && s[end] == ':' {
		// An IPv6 address: up to the first space.
		ip, rest = s, ""
		if sp := strings.IndexByte(s, ' '); sp >= 0 {
			ip, rest = s[:sp], s[sp:]
		}
		ip = strings.TrimSuffix(ip, ":")
	}
	if r, ok := strings.CutPrefix(rest, " port "); ok {
		i := 0
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			i++
		}
		port = r[:i]
	}
	return ip, port
}

// isIP reports whether s looks like an IPv4 or IPv6 address (digits, hex,
// dots and colons only, with a dot or colon).
func isIP(s string) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	sep := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == ':':
			sep = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return sep
}

// kvValue returns the value after key in "k=v k=v" text, up to a space.
func kvValue(s, key string) string {
	_, rest, ok := strings.Cut(s, key)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, " ")
	return v
}

// sudo reads "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls"
// into User (who ran sudo) and sudo's own keys TTY, PWD, USER and COMMAND,
// which SigmaHQ's sudo rules use as they are.
func (n *Normalizer) sudo(e *event.Event, sc *scan, msg string) {
	who, rest, ok := strings.Cut(msg, " : ")
	who = strings.TrimSpace(who)
	if !ok || who == "" || strings.IndexByte(who, ' ') >= 0 {
		return
	}
	n.set(e, sc, sUser, who)
	for rest != "" {
		var part string
		if strings.HasPrefix(rest, "COMMAND=") {
			part, rest = rest, "" // the command runs to the end and may hold " ; "
		} else {
			part, rest, _ = strings.Cut(rest, " ; ")
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		switch k {
		case "TTY":
			n.set(e, sc, sSudoTTY, v)
		case "PWD":
			n.set(e, sc, sSudoPWD, v)
		case "USER":
			n.set(e, sc, sSudoUSER, v)
		case "COMMAND":
			n.set(e, sc, sSudoCOMMAND, v)
		}
	}
}

// ciscoFacility finds a Cisco IOS/ASA message mnemonic "%FACILITY-SEV-NAME:"
// near the start of the program tag or message and returns FACILITY.
func ciscoFacility(prog, msg string) (string, bool) {
	if f, ok := mnemonic(prog); ok {
		return f, true
	}
	if len(msg) > 128 {
		msg = msg[:128]
	}
	for {
		i := strings.IndexByte(msg, '%')
		if i < 0 {
			return "", false
		}
		if f, ok := mnemonic(msg[i:]); ok {
			return f, true
		}
		msg = msg[i+1:]
	}
}

// mnemonic reads "%FAC-N-NAME" at the start of s.
func mnemonic(s string) (string, bool) {
	if len(s) < 6 || s[0] != '%' {
		return "", false
	}
	i := 1
	for i < len(s) && (s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9' || s[i] == '_') {
		i++
	}
	if i == 1 || i+3 > len(s) || s[i] != '-' || s[i+1] < '0' || s[i+1] > '7' || s[i+2] != '-' {
		return "", false
	}
	return s[1:i], true
}

// ciscoService maps a Cisco message facility to the services of SigmaHQ's
// cisco rules: aaa holds command accounting and logins.
func ciscoService(fac string) string {
	switch fac {
	case "PARSER", "AAA", "SEC_LOGIN", "TAC", "TACACS", "RADIUS", "SSH", "HA_EM":
		return "aaa"
	case "LDP":
		return "ldp"
	case "BGP":
		return "bgp"
	}
	return "syslog"
}
