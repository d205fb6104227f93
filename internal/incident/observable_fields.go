// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/koban-csirt/koban/internal/intel"
)

// AlertField is one named value of an alert (alert.KV has the same shape:
// convert each with AlertField(kv)).
type AlertField = struct{ Name, Value string }

// obsFieldRole says how FromAlertFields reads a field.
type obsFieldRole uint8

const (
	obsRoleNone     obsFieldRole = iota
	obsRoleIP                    // one address, maybe with a port
	obsRoleDomain                // a DNS name, else a host name
	obsRoleURL                   // a URL, or a path to join with the request's host
	obsRoleHash                  // md5, sha1 or sha256 by the field's kind
	obsRoleEmails                // e-mail addresses, maybe several, maybe "Name <a@b>"
	obsRoleHosts                 // a list of names and addresses (DNS answers)
	obsRoleHashList              // Sysmon's "SHA1=…,MD5=…"
	obsRoleUser                  // an account
	obsRoleHost                  // a computer
	obsRoleFile                  // a file's path or name
	obsRoleText                  // free text: Extract reads it
)

// obsField is a field's role and, for hashes, its kind.
type obsField struct {
	role obsFieldRole
	kind ObservableKind
}

// obsOwnFields are the fields of alerts that intel's DefaultFieldKinds does
// not cover: accounts, computers, files, and free text worth reading
// (canonical names of internal/normalize, then ECS names and other logs').
var obsOwnFields = map[string]obsFieldRole{
	"User": obsRoleUser, "TargetUserName": obsRoleUser, "SubjectUserName": obsRoleUser, "AccountName": obsRoleUser,
	"UserName": obsRoleUser, "SamAccountName": obsRoleUser, "TargetUser": obsRoleUser, "SourceUser": obsRoleUser,
	"USER": obsRoleUser, "user": obsRoleUser, "username": obsRoleUser, "user.name": obsRoleUser,
	"cs-username": obsRoleUser, "src_user": obsRoleUser, "dst_user": obsRoleUser, "srcuser": obsRoleUser,
	"dstuser": obsRoleUser, "user.email": obsRoleEmails,

	"Computer": obsRoleHost, "ComputerName": obsRoleHost, "computer_name": obsRoleHost, "Hostname": obsRoleHost,
	"hostname": obsRoleHost, "HostName": obsRoleHost, "host.name": obsRoleHost, "host.hostname": obsRoleHost,
	"agent.hostname": obsRoleHost, "WorkstationName": obsRoleHost, "Workstation": obsRoleHost,
	"s-computername": obsRoleHost, "devname": obsRoleHost, "DeviceName": obsRoleHost,

	"Image": obsRoleFile, "ParentImage": obsRoleFile, "TargetFilename": obsRoleFile, "ImageLoaded": obsRoleFile,
	"OriginalFileName": obsRoleFile, "NewProcessName": obsRoleFile, "ParentProcessName": obsRoleFile,
	"ProcessName": obsRoleFile, "SourceImage": obsRoleFile, "TargetImage": obsRoleFile, "Filename": obsRoleFile,
	"filename": obsRoleFile, "file.path": obsRoleFile, "file.name": obsRoleFile, "process.executable": obsRoleFile,
	"process.parent.executable": obsRoleFile, "fileinfo.filename": obsRoleFile, "dll.path": obsRoleFile,

	"CommandLine": obsRoleText, "ParentCommandLine": obsRoleText, "ScriptBlockText": obsRoleText,
	"Payload": obsRoleText, "ImagePath": obsRoleText, "ServiceFileName": obsRoleText, "Details": obsRoleText,
	"ContextInfo": obsRoleText, "message": obsRoleText, "Message": obsRoleText, "SyslogMessage": obsRoleText,
	"process.command_line": obsRoleText, "process.parent.command_line": obsRoleText, "cs-uri-query": obsRoleText,
	"properties.message": obsRoleText,
}

// obsDomainOf names, for a user field, the field with its domain.
var obsDomainOf = map[string]string{
	"TargetUserName": "TargetDomainName", "SubjectUserName": "SubjectDomainName", "user.name": "user.domain",
}

// obsHostFields hold the host a path-only URL field was requested from, in
// the order they are tried (as intel's matcher does).
var obsHostFields = []string{"cs-host", "http.hostname", "host", "cs(Host)"}

// obsFields maps every known field name, and its lower-case form, to how it
// is read: intel's DefaultFieldKinds, then obsOwnFields. Built once, never
// changed.
var obsFields = func() map[string]obsField {
	m := map[string]obsField{}
	put := func(name string, f obsField) {
		m[name] = f
		if l := strings.ToLower(name); l != name {
			if _, ok := m[l]; !ok {
				m[l] = f
			}
		}
	}
	for name, k := range intel.DefaultFieldKinds() {
		switch k {
		case intel.KindIP:
			put(name, obsField{role: obsRoleIP})
		case intel.KindDomain:
			put(name, obsField{role: obsRoleDomain})
		case intel.KindURL:
			put(name, obsField{role: obsRoleURL})
		case intel.KindMD5, intel.KindSHA1, intel.KindSHA256:
			put(name, obsField{role: obsRoleHash, kind: ObservableKind(k)})
		case intel.KindEmail:
			put(name, obsField{role: obsRoleEmails})
		case intel.KindHosts:
			put(name, obsField{role: obsRoleHosts})
		case intel.KindHashes:
			put(name, obsField{role: obsRoleHashList})
		}
	}
	for name, r := range obsOwnFields {
		put(name, obsField{role: r})
	}
	for _, name := range []string{"fileinfo.md5", "fileinfo.sha1", "fileinfo.sha256", "hash.md5", "hash.sha1", "hash.sha256",
		"dll.hash.md5", "dll.hash.sha1", "dll.hash.sha256"} {
		put(name, obsField{role: obsRoleHash, kind: ObservableKind(name[strings.LastIndexByte(name, '.')+1:])})
	}
	return m
}()

// obsPlaceholders are values logs write for "none".
var obsPlaceholders = obsSet(`- -- n/a na null (null) <null> none unknown ?`)

// obsSystemAccounts are Windows' built-in principals: every machine has
// them, so they link nothing.
var obsSystemAccounts = map[string]bool{"system": true, "localsystem": true, "local service": true,
	"network service": true, "anonymous logon": true}

// obsSystemDomains hold only built-in principals (NT AUTHORITY\SYSTEM,
// Window Manager\DWM-1, Font Driver Host\UMFD-0, NT SERVICE\…).
var obsSystemDomains = map[string]bool{"nt authority": true, "window manager": true, "font driver host": true,
	"nt service": true, "nt virtual machine": true}

// FromAlertFields returns the observables in an alert's fields, in field
// order, each once, at most MaxExtracted, with Source ObservableSourceAlert
// (the caller may put AlertSource(id) instead) and the field's name as Note.
// Fields are known by name, exactly or ignoring case:
//   - addresses, domain names, URLs, hashes, e-mail addresses, DNS answer
//     lists and Sysmon's Hashes as intel.DefaultFieldKinds names them
//     (SourceIp, DestinationIp, QueryName, c-uri, cs-host, md5 …); an
//     address's port is dropped, a path-only URL (Zeek's uri, c-uri) is
//     joined with the request's host (cs-host, http.hostname, host), and a
//     "domain" field holding a single-label name gives a host;
//   - accounts (User, TargetUserName, SubjectUserName, user.name …), with
//     TargetDomainName or SubjectDomainName before the name as DOMAIN\user;
//     Windows' built-in principals (SYSTEM, NT AUTHORITY\…) are left out;
//   - computers (Computer, Hostname, host.name, WorkstationName …), an
//     address among them as an ip;
//   - files (Image, ParentImage, TargetFilename, ImageLoaded …) as full
//     paths;
//   - free text (CommandLine, ScriptBlockText, Payload, message …) through
//     Extract.
//
// Placeholders ("-", "N/A", "(null)") and values that do not parse are
// skipped, as are loopback and unspecified addresses.
func FromAlertFields(fields []AlertField) []Observable {
	byName := map[string]string{}
	for _, f := range fields {
		if _, ok := byName[f.Name]; !ok {
			byName[f.Name] = f.Value
		}
	}
	c := obsCollector{seen: map[Observable]bool{}}
	for _, f := range fields {
		v := strings.TrimSpace(f.Value)
		if v == "" || obsPlaceholders[strings.ToLower(v)] || c.full() {
			continue
		}
		of, ok := obsFields[f.Name]
		if !ok {
			of, ok = obsFields[strings.ToLower(f.Name)]
		}
		if !ok {
			continue
		}
		c.note = f.Name
		switch of.role {
		case obsRoleIP:
			c.add(ObservableIP, v)
		case obsRoleDomain:
			if !c.add(ObservableDomain, v) {
				c.hostOrIP(v)
			}
		case obsRoleURL:
			if strings.HasPrefix(v, "/") {
				for _, h := range obsHostFields {
					if host := strings.TrimSpace(byName[h]); host != "" && !obsPlaceholders[host] {
						v = "http://" + host + v
						break
					}
				}
			}
			c.add(ObservableURL, v)
		case obsRoleHash:
			c.add(of.kind, v)
		case obsRoleEmails:
			for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' }) {
				if lt := strings.LastIndexByte(part, '<'); lt >= 0 {
					part, _, _ = strings.Cut(part[lt+1:], ">")
				}
				c.add(ObservableEmail, part)
			}
		case obsRoleHosts:
			c.hostList(v)
		case obsRoleHashList:
			c.hashList(v)
		case obsRoleUser:
			domain := ""
			if df, ok := obsDomainOf[f.Name]; ok {
				domain = byName[df]
			}
			c.user(v, domain)
		case obsRoleHost:
			c.hostOrIP(v)
		case obsRoleFile:
			c.add(ObservableFilename, v)
		case obsRoleText:
			for _, o := range obsExtract(v, ObservableSourceAlert, f.Name, MaxExtracted) {
				c.put(o)
			}
		}
	}
	return c.out
}

// obsCollector gathers FromAlertFields' results.
type obsCollector struct {
	out  []Observable
	seen map[Observable]bool
	note string // the field being read
}

func (c *obsCollector) full() bool { return len(c.out) >= MaxExtracted }

// add parses raw as kind k and keeps it; it reports whether raw parsed.
func (c *obsCollector) add(k ObservableKind, raw string) bool {
	o, err := ParseObservable(k, raw)
	if err != nil {
		return false
	}
	o.Source, o.Note = ObservableSourceAlert, c.note
	c.put(o)
	return true
}

// put keeps o unless it is useless or already kept.
func (c *obsCollector) put(o Observable) {
	if c.full() || obsUseless(o) {
		return
	}
	k := Observable{Kind: o.Kind, Value: o.Value}
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.out = append(c.out, o)
}

// hostOrIP keeps a computer's name, or its address.
func (c *obsCollector) hostOrIP(v string) {
	if !c.add(ObservableIP, v) {
		c.add(ObservableHost, v)
	}
}

// hostList reads a DNS answer list: "a.example;192.0.2.1", Sysmon's
// "type:  5 cdn.example;::ffff:192.0.2.1;", a JSON array.
func (c *obsCollector) hostList(v string) {
	var parts []string
	if !strings.HasPrefix(v, "[") || json.Unmarshal([]byte(v), &parts) != nil {
		parts = strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(",; \t\r\n|", r) })
	}
	for _, p := range parts {
		p = strings.Trim(p, `"'`)
		if _, err := netip.ParseAddr(p); err == nil {
			c.add(ObservableIP, p)
		} else if strings.Contains(p, ".") {
			c.add(ObservableDomain, p)
		}
	}
}

// hashList reads "SHA1=…,MD5=…,SHA256=…,IMPHASH=…".
func (c *obsCollector) hashList(v string) {
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		alg, h, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		switch strings.ToUpper(strings.TrimSpace(alg)) {
		case "MD5":
			c.add(ObservableMD5, h)
		case "SHA1", "SHA-1":
			c.add(ObservableSHA1, h)
		case "SHA256", "SHA-256":
			c.add(ObservableSHA256, h)
		}
	}
}

// user keeps an account unless it is a built-in principal, with its domain
// when a separate field gives one.
func (c *obsCollector) user(name, domain string) {
	domain = strings.TrimSpace(domain)
	if obsPlaceholders[strings.ToLower(domain)] {
		domain = ""
	}
	if d, u, ok := strings.Cut(name, `\`); ok {
		domain, name = d, u
	} else if strings.Contains(name, "@") {
		domain = ""
	}
	if obsSystemAccounts[strings.ToLower(name)] || obsSystemDomains[strings.ToLower(domain)] {
		return
	}
	if domain != "" {
		name = domain + `\` + name
	}
	c.add(ObservableUser, name)
}
