// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// fuzzLines adds up to max lines of a shared data file to the corpus.
func fuzzLines(f *testing.F, rel string, max int, add func(string)) {
	fh, err := os.Open(shareddata.Path(f, rel))
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	s := bufio.NewScanner(fh)
	s.Buffer(nil, 1<<20)
	for i := 0; i < max && s.Scan(); i++ {
		add(s.Text())
	}
}

// checkInvariants fails t when a normalised event breaks what every stage
// relies on.
func checkInvariants(t *testing.T, n *Normalizer, e *event.Event) {
	t.Helper()
	checkUnique(t, e)
	for _, f := range e.Fields {
		if f.ID == 0 || f.Name() == "" {
			t.Fatalf("field with no name: %+v", f)
		}
	}
	if e.Time != e.Received && (e.Time < minTime || e.Time > e.Received+int64(MaxAhead)) {
		t.Fatalf("Time %v not checked against Received %v", e.TimeOf(), time.Unix(0, e.Received).UTC())
	}
	once := eventView(e)
	n.Event(e)
	if diff := cmp.Diff(once, eventView(e)); diff != "" {
		t.Fatalf("second Event changed the event (-once +twice):\n%s", diff)
	}
}

// FuzzEvent normalises events built from "name=value" lines, with each of
// the product hints importers give.
func FuzzEvent(f *testing.F) {
	for _, kv := range samples() {
		var b strings.Builder
		for i := 0; i+1 < len(kv); i += 2 {
			b.WriteString(kv[i] + "=" + kv[i+1] + "\n")
		}
		for hint := range uint8(4) {
			f.Add(b.String(), hint)
		}
	}
	f.Add("winlog.event_data.=x\nwinlog.channel=Security\nevent.code=4688\nwinlog.event_id=4688\nuser.name=a\n", uint8(0))
	f.Add("event_id=1\nlog_name=x\nevent_data.=\nuser_data.A=b\n", uint8(0))
	f.Add("_path=http\nts=1e400\nuid=x\n@stream=dns\nid_orig_h=1\n", uint8(2))
	n := New()
	f.Fuzz(func(t *testing.T, data string, hint uint8) {
		e := &event.Event{Received: received}
		e.Log.Product = []string{"", "windows", "zeek", "suricata"}[hint%4]
		for _, line := range strings.Split(data, "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && k != "" {
				e.Add(k, v)
			}
		}
		n.Event(e)
		checkInvariants(t, n, e)
	})
}

// FuzzMessage normalises a text line as a file line and as the message of
// a syslog event from each program whose messages the normaliser parses.
func FuzzMessage(f *testing.F) {
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Linux/Linux_2k.log",
		"evtx-attack-samples/Command and Control/web_attack_and_isp_webshell_localhost_access_log.txt"} {
		fuzzLines(f, rel, 40, func(s string) { f.Add(s) })
	}
	b := zipFile(f, shareddata.Path(f, "otrf-security-datasets/datasets/atomic/linux/discovery/host/sh_arp_cache.zip"))
	for _, line := range strings.Split(string(b), "\n") {
		f.Add(line)
	}
	for _, kv := range samples() {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == "message" {
				f.Add(kv[i+1])
			}
		}
	}
	f.Add("type=USER_AUTH msg=audit(1.1:1): msg='op=x acct=\"r\" res=failed' a0=ff")
	f.Add("type=EXECVE msg=audit(1.1:1): argc=1 a0=00 a1=4 a2")
	f.Add("<Event><System><EventID>1</EventID><Provider Name=\"Linux-Sysmon\"/></System><EventData><Data Name=\"A&#x41;\">&#99999999;&lt;</Data><Data Name=\"\"/><Data Name=\"x")
	f.Add("%PARSER-5-CFGLOG_LOGGEDCMD: User:admin")
	f.Add("1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] \"GET /\\\" HTTP/1.1\" 200 - \"\\\" \"a")
	n := New()
	programs := []string{"", "sshd", "sudo", "auditd", "sysmon", "apache2", "cron"}
	f.Fuzz(func(t *testing.T, msg string) {
		e := newEvent("message", msg)
		n.Event(e)
		checkInvariants(t, n, e)
		for _, p := range programs[1:] {
			e := newEvent("program", p, "facility", "auth", "hostname", "h", "message", msg)
			e.Time = received
			n.Event(e)
			checkInvariants(t, n, e)
		}
	})
}

// FuzzParseTime checks that parseTime never panics and agrees with the
// standard library on RFC 3339 text.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-11-27T07:40:10.165324Z", "2017-01-30T16:12:26.985026+0100", "1521911720.865716",
		"10/Oct/2000:13:55:36 -0700", "2025-11-27 07:40:10.132", "1704190272000000000", "2024-01-02T03:04:05+09:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime(s)
		want, err := time.Parse(time.RFC3339Nano, s)
		// Compare strict RFC 3339 only: time.Parse also takes a one-digit
		// hour, which no log source writes.
		if err != nil || strings.ContainsAny(s, " \t\"") || len(s) < 20 || s[13] != ':' || s[16] != ':' {
			return
		}
		if _, off := want.Zone(); off > 14*3600 || off < -14*3600 || want.Second() == 60 {
			return
		}
		if !ok || got != want.UnixNano() {
			t.Fatalf("parseTime(%q) = %v, %v; time.Parse gives %v", s, time.Unix(0, got).UTC(), ok, want.UTC())
		}
	})
}
