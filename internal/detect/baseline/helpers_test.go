// SPDX-License-Identifier: Apache-2.0

package baseline

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/normalize"
	"github.com/koban-csirt/koban/internal/shareddata"
)

var norm = normalize.New()

// t0 is the time the synthetic streams start at.
var t0 = time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)

// newEvent builds an event as intake and the normaliser would: product,
// host and time from the arguments, fields from name, value pairs (as an
// EVTX record or a syslog line renders them), then normalised.
func newEvent(product, host string, at time.Time, kv ...string) *event.Event {
	e := &event.Event{Time: at.UnixNano(), Received: at.UnixNano(), Host: host}
	e.Log.Product = product
	e.ID = event.NewID(e.Time)
	for i := 0; i+1 < len(kv); i += 2 {
		e.Add(kv[i], kv[i+1])
	}
	norm.Event(e)
	return e
}

const (
	chanSysmon   = "Microsoft-Windows-Sysmon/Operational"
	chanSecurity = "Security"
	chanSystem   = "System"
)

// sysmon1 is a Sysmon process creation (event 1).
func sysmon1(host string, at time.Time, image, parent, user string) *event.Event {
	return newEvent("windows", host, at, "EventID", "1", "Channel", chanSysmon, "Computer", host,
		"Provider_Name", "Microsoft-Windows-Sysmon", "Image", image, "ParentImage", parent, "User", user,
		"CommandLine", `"`+image+`"`, "IntegrityLevel", "Medium")
}

// logon4624 is a Security 4624 logon.
func logon4624(host string, at time.Time, user, domain, logonType, ip string) *event.Event {
	return newEvent("windows", host, at, "EventID", "4624", "Channel", chanSecurity, "Computer", host,
		"Provider_Name", "Microsoft-Windows-Security-Auditing", "SubjectUserSid", "S-1-0-0", "SubjectUserName", "-",
		"TargetUserName", user, "TargetDomainName", domain, "LogonType", logonType,
		"LogonProcessName", "NtLmSsp", "AuthenticationPackageName", "NTLM", "WorkstationName", "PC01",
		"IpAddress", ip, "IpPort", "49168")
}

// logon4625 is a Security 4625 failed logon.
func logon4625(host string, at time.Time, user, ip string) *event.Event {
	return newEvent("windows", host, at, "EventID", "4625", "Channel", chanSecurity, "Computer", host,
		"Provider_Name", "Microsoft-Windows-Security-Auditing", "TargetUserName", user, "TargetDomainName", ".",
		"Status", "0xc000006d", "SubStatus", "0xc000006a", "LogonType", "3", "LogonProcessName", "NtLmSsp",
		"WorkstationName", "kali", "IpAddress", ip, "IpPort", "50249")
}

// service7045 is a System 7045 service installation.
func service7045(host string, at time.Time, name, path string) *event.Event {
	return newEvent("windows", host, at, "EventID", "7045", "Channel", chanSystem, "Computer", host,
		"Provider_Name", "Service Control Manager", "ServiceName", name, "ImagePath", path,
		"ServiceType", "user mode service", "StartType", "demand start", "AccountName", "LocalSystem")
}

// service4697 is a Security 4697 service installation.
func service4697(host string, at time.Time, name, path string) *event.Event {
	return newEvent("windows", host, at, "EventID", "4697", "Channel", chanSecurity, "Computer", host,
		"Provider_Name", "Microsoft-Windows-Security-Auditing", "SubjectUserName", "admin", "SubjectDomainName", "CORP",
		"ServiceName", name, "ServiceFileName", path, "ServiceType", "0x10", "ServiceStartType", "3",
		"ServiceAccount", "LocalSystem")
}

// sshd is an OpenSSH syslog line as the syslog listener hands it over.
func sshd(host string, at time.Time, msg string) *event.Event {
	return newEvent("", host, at, "hostname", host, "program", "sshd", "pid", "24200",
		"facility", "authpriv", "message", msg)
}

// collect returns an fn for Observe that appends to *out.
func collect(out *[]Finding) func(Finding) {
	return func(f Finding) { *out = append(*out, f) }
}

// mustNew builds an engine or fails t.
func mustNew(t testing.TB, defs []Definition, opts Options) *Engine {
	t.Helper()
	e, err := New(defs, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// only returns the built-in definition called name, changed by fn.
func only(t testing.TB, name string, fn func(*Definition)) []Definition {
	t.Helper()
	for _, d := range Defaults() {
		if d.Name == name {
			if fn != nil {
				fn(&d)
			}
			return []Definition{d}
		}
	}
	t.Fatalf("no built-in definition %s", name)
	return nil
}

// replayEVTX reads the EVTX files under the shared data folder rel (a file
// or a directory, walked in name order) as intake and the normaliser do.
func replayEVTX(t testing.TB, rel string) []event.Event {
	t.Helper()
	root := shareddata.Path(t, rel)
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	sort.Strings(files)
	var out []event.Event
	for _, p := range files {
		out = append(out, readEVTX(t, p)...)
	}
	if len(out) == 0 {
		t.Fatalf("no events under %s", rel)
	}
	return out
}

func readEVTX(t testing.TB, path string) []event.Event {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := evtx.NewReader(f, st.Size())
	if err != nil {
		return nil // a few samples are not EVTX despite the name
	}
	var out []event.Event
	err = rd.Records(func(r *evtx.Record) error {
		e := event.Event{Time: r.Time, Received: r.Time}
		e.Log.Product = "windows"
		e.ID = event.DeriveID(r.Time, fmt.Appendf(nil, "%s#%d", path, r.ID))
		for _, fl := range r.Fields {
			e.Add(fl.Name, fl.Value)
			if fl.Name == "Computer" {
				e.Host = fl.Value
			}
		}
		norm.Event(&e)
		out = append(out, e)
		return nil
	}, func(*evtx.Warning) {})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// replaySyslog reads a loghub syslog file ("Dec 10 06:55:46 LabSZ
// sshd[24200]: message") in year 2024 as events.
func replaySyslog(t testing.TB, rel string) []event.Event {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []event.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 16 {
			continue
		}
		at, err := time.Parse("2006 Jan _2 15:04:05", "2024 "+line[:15])
		if err != nil {
			t.Fatalf("%s: %q: %v", rel, line, err)
		}
		rest := strings.Fields(line[16:])
		if len(rest) < 2 {
			continue
		}
		host, prog := rest[0], rest[1]
		prog, _, _ = strings.Cut(strings.TrimSuffix(prog, ":"), "[")
		_, msg, _ := strings.Cut(line[16:], ": ")
		e := newEvent("", host, at, "hostname", host, "program", prog, "message", msg)
		out = append(out, *e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
