// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/japanese"

	"github.com/koban-csirt/koban/internal/event"
)

// received is the arrival time used by the table: 2026-11-22 12:00 UTC.
var received = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type want struct {
	fields map[string]string
	host   string
	time   string // RFC 3339 in UTC; "" means Received
	flags  event.Flag
	reason string // a substring of Reason
}

func encode(t *testing.T, enc interface{ String(string) (string, error) }, s string) string {
	t.Helper()
	out, err := enc.String(s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fields(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func parseCases(t *testing.T) []struct {
	name, line string
	want       want
} {
	sjis := encode(t, japanese.ShiftJIS.NewEncoder(), "<13>Nov 22 10:00:00 fs01 smbd[77]: ログイン失敗 ユーザー=山田")
	euc := encode(t, japanese.EUCJP.NewEncoder(), "<13>Nov 22 10:00:00 fs01 app: 日本語のメッセージです")
	return []struct {
		name, line string
		want       want
	}{
		{"rfc5424 with sd and bom",
			"<165>1 2026-11-22T10:00:00.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] \uFEFFAn application event log entry",
			want{fields: fields("facility", "local4", "severity", "notice", "priority", "165",
				"hostname", "mymachine.example.com", "program", "evntslog", "msgid", "ID47",
				"sd.exampleSDID@32473.iut", "3", "sd.exampleSDID@32473.eventSource", "Application",
				"sd.exampleSDID@32473.eventID", "1011", "sd.examplePriority@32473.class", "high",
				"message", "An application event log entry"),
				host: "mymachine.example.com", time: "2026-11-22T10:00:00.003Z"}},
		{"rfc5424 without sd",
			"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
			want{fields: fields("facility", "auth", "severity", "crit", "priority", "34",
				"hostname", "mymachine.example.com", "program", "su", "msgid", "ID47",
				"message", "'su root' failed for lonvick on /dev/pts/8"),
				host: "mymachine.example.com", time: "2003-10-11T22:14:15.003Z"}},
		{"rfc5424 all nil",
			"<34>1 - - - - - -",
			want{fields: fields("facility", "auth", "severity", "crit", "priority", "34"), flags: event.FlagNoTime}},
		{"rfc5424 zone offset and microseconds",
			"<86>1 2026-11-22T10:00:00.123456+09:00 web01 sshd 4242 - - Accepted publickey for alice from 192.0.2.7 port 50000 ssh2",
			want{fields: fields("facility", "authpriv", "severity", "info", "priority", "86",
				"hostname", "web01", "program", "sshd", "pid", "4242",
				"message", "Accepted publickey for alice from 192.0.2.7 port 50000 ssh2"),
				host: "web01", time: "2026-11-22T01:00:00.123456Z"}},
		{"rfc5424 escaped sd value and repeated parameter",
			`<14>1 2026-11-22T10:00:00Z h app - - [x@1 p="a\"b\]c\\d\e" p="second"]`,
			want{fields: fields("facility", "user", "severity", "info", "priority", "14",
				"hostname", "h", "program", "app", "sd.x@1.p", `a"b]c\d\e`),
				host: "h", time: "2026-11-22T10:00:00Z"}},
		{"rfc5424 bad structured data",
			`<14>1 2026-11-22T10:00:00Z h app - - [x@1 p=unquoted] msg`,
			want{fields: fields("facility", "user", "severity", "info", "priority", "14",
				"hostname", "h", "program", "app", "message", `[x@1 p=unquoted] msg`),
				host: "h", time: "2026-11-22T10:00:00Z", flags: event.FlagParseError, reason: "rfc5424: bad structured data at byte 44"}},
		{"rfc5424 bad timestamp",
			`<14>1 yesterday h app - - - msg`,
			want{fields: fields("facility", "user", "severity", "info", "priority", "14", "message", "yesterday h app - - - msg"),
				flags: event.FlagParseError | event.FlagNoTime, reason: "rfc5424: bad timestamp"}},
		{"nxlog rfc5424",
			`<14>1 2026-11-22T10:00:00.123456+09:00 DC01 Microsoft-Windows-Security-Auditing 4 - [NXLOG@14506 Keywords="-9214364837600034816" EventType="AUDIT_SUCCESS" EventID="4624" TargetUserName="alice" LogonType="3"] An account was successfully logged on.`,
			want{fields: fields("facility", "user", "severity", "info", "priority", "14",
				"hostname", "DC01", "program", "Microsoft-Windows-Security-Auditing", "pid", "4",
				"sd.NXLOG@14506.Keywords", "-9214364837600034816", "sd.NXLOG@14506.EventType", "AUDIT_SUCCESS",
				"sd.NXLOG@14506.EventID", "4624", "sd.NXLOG@14506.TargetUserName", "alice", "sd.NXLOG@14506.LogonType", "3",
				"message", "An account was successfully logged on."),
				host: "DC01", time: "2026-11-22T01:00:00.123456Z"}},
		{"rfc3164",
			"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			want{fields: fields("facility", "auth", "severity", "crit", "priority", "34",
				"hostname", "mymachine", "program", "su", "message", "'su root' failed for lonvick on /dev/pts/8"),
				host: "mymachine", time: "2026-10-11T22:14:15Z"}},
		{"rsyslog forwarding format",
			"<13>2026-11-22T10:00:00.123456+09:00 host prog[1]: msg",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13",
				"hostname", "host", "program", "prog", "pid", "1", "message", "msg"),
				host: "host", time: "2026-11-22T01:00:00.123456Z"}},
		{"rfc3164 high-precision time",
			"<13>Nov 22 10:00:00.123456 host prog: msg",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13",
				"hostname", "host", "program", "prog", "message", "msg"),
				host: "host", time: "2026-11-22T10:00:00.123456Z"}},
		{"year in timestamp",
			"<13>Nov 22 2025 10:00:00 host prog: msg",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13",
				"hostname", "host", "program", "prog", "message", "msg"),
				host: "host", time: "2025-11-22T10:00:00Z"}},
		{"missing pri",
			"Nov 22 10:00:00 host prog[7]: msg with: colon",
			want{fields: fields("hostname", "host", "program", "prog", "pid", "7", "message", "msg with: colon"),
				host: "host", time: "2026-11-22T10:00:00Z"}},
		{"single-digit day padded with a space",
			"<13>Nov  2 09:08:07 host prog: msg",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13",
				"hostname", "host", "program", "prog", "message", "msg"),
				host: "host", time: "2026-11-02T09:08:07Z"}},
		{"cisco ios",
			"<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)",
			want{fields: fields("facility", "local7", "severity", "notice", "priority", "189",
				"message", "%SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1)"),
				time: "2026-03-01T18:46:11.123Z"}},
		{"cisco ios with zone",
			"<189>45: R1: Nov 22 09:00:00.5 JST: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down",
			want{fields: fields("facility", "local7", "severity", "notice", "priority", "189", "hostname", "R1",
				"message", "%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to down"),
				host: "R1", time: "2026-11-22T00:00:00.5Z"}},
		{"cisco without pri, host first",
			"172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:no access-session port-control",
			want{fields: fields("hostname", "172.16.5.10",
				"message", "%PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:no access-session port-control"),
				host: "172.16.5.10", time: "2026-02-17T13:40:03.673Z"}},
		{"cisco relayed with its own sequence and time",
			"<189>Nov 22 10:00:01 10.1.1.1 88: Nov 22 10:00:00.999: %SEC-6-IPACCESSLOGP: list 101 denied tcp",
			want{fields: fields("facility", "local7", "severity", "notice", "priority", "189", "hostname", "10.1.1.1",
				"message", "%SEC-6-IPACCESSLOGP: list 101 denied tcp"),
				host: "10.1.1.1", time: "2026-11-22T10:00:01Z"}},
		{"cisco asa",
			"<166>Nov 22 10:00:00 asa01 : %ASA-6-302013: Built outbound TCP connection 123 for outside:198.51.100.1/443 (198.51.100.1/443) to inside:10.0.0.5/51234 (10.0.0.5/51234)",
			want{fields: fields("facility", "local4", "severity", "info", "priority", "166", "hostname", "asa01",
				"message", "%ASA-6-302013: Built outbound TCP connection 123 for outside:198.51.100.1/443 (198.51.100.1/443) to inside:10.0.0.5/51234 (10.0.0.5/51234)"),
				host: "asa01", time: "2026-11-22T10:00:00Z"}},
		{"cisco asa with year and no host",
			"<164>Nov 22 2026 10:00:00: %ASA-4-106023: Deny tcp src outside:203.0.113.9/4444 dst inside:10.0.0.5/22",
			want{fields: fields("facility", "local4", "severity", "warning", "priority", "164",
				"message", "%ASA-4-106023: Deny tcp src outside:203.0.113.9/4444 dst inside:10.0.0.5/22"),
				time: "2026-11-22T10:00:00Z"}},
		{"cisco asa without timestamp",
			"<166>%ASA-6-305011: Built dynamic TCP translation",
			want{fields: fields("facility", "local4", "severity", "info", "priority", "166",
				"message", "%ASA-6-305011: Built dynamic TCP translation"), flags: event.FlagNoTime}},
		{"fortigate",
			`<189>date=2026-11-22 time=10:00:00 devname="FGT60E" devid="FGT60ETK18000000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" tz="+0900" srcip=10.0.0.1 srcport=51234 dstip=93.184.216.34 dstport=443 action="accept" msg="a \"quoted\" word" hostname="www.example.com"`,
			want{fields: fields("facility", "local7", "severity", "notice", "priority", "189",
				"date", "2026-11-22", "time", "10:00:00", "devname", "FGT60E", "devid", "FGT60ETK18000000",
				"logid", "0000000013", "type", "traffic", "subtype", "forward", "level", "notice", "vd", "root",
				"tz", "+0900", "srcip", "10.0.0.1", "srcport", "51234", "dstip", "93.184.216.34", "dstport", "443",
				"action", "accept", "msg", `a "quoted" word`, "hostname", "www.example.com",
				"message", `date=2026-11-22 time=10:00:00 devname="FGT60E" devid="FGT60ETK18000000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" tz="+0900" srcip=10.0.0.1 srcport=51234 dstip=93.184.216.34 dstport=443 action="accept" msg="a \"quoted\" word" hostname="www.example.com"`),
				host: "FGT60E", time: "2026-11-22T01:00:00Z"}},
		{"fortigate eventtime in nanoseconds",
			`<189>date=2026-11-22 time=10:00:00 devname="FGT" eventtime=1795309200123456789 logid="0100032001" type="event"`,
			want{fields: fields("facility", "local7", "severity", "notice", "priority", "189",
				"date", "2026-11-22", "time", "10:00:00", "devname", "FGT", "eventtime", "1795309200123456789",
				"logid", "0100032001", "type", "event",
				"message", `date=2026-11-22 time=10:00:00 devname="FGT" eventtime=1795309200123456789 logid="0100032001" type="event"`),
				host: "FGT", time: "2026-11-22T01:00:00.123456789Z"}},
		{"fortigate relayed with a 3164 header",
			`<189>Nov 22 10:00:05 fgt01 date=2026-11-22 time=10:00:00 devname="FGT" logid="0000000013" type="traffic"`,
			want{fields: fields("facility", "local7", "severity", "notice", "priority", "189", "hostname", "fgt01",
				"message", `date=2026-11-22 time=10:00:00 devname="FGT" logid="0000000013" type="traffic"`,
				"date", "2026-11-22", "time", "10:00:00", "devname", "FGT", "logid", "0000000013", "type", "traffic"),
				host: "fgt01", time: "2026-11-22T10:00:00Z"}},
		{"apache error log",
			"[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
			want{fields: fields("message", "[notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties"),
				time: "2005-12-04T04:47:44Z"}},
		{"linux sshd",
			"<38>Nov 22 10:00:00 web01 sshd[123]: Failed password for root from 203.0.113.5 port 52144 ssh2",
			want{fields: fields("facility", "auth", "severity", "info", "priority", "38", "hostname", "web01",
				"program", "sshd", "pid", "123", "message", "Failed password for root from 203.0.113.5 port 52144 ssh2"),
				host: "web01", time: "2026-11-22T10:00:00Z"}},
		{"linux local socket format without hostname",
			"<38>Nov 22 10:00:00 sshd[123]: Failed password for root from 203.0.113.5 port 52144 ssh2",
			want{fields: fields("facility", "auth", "severity", "info", "priority", "38",
				"program", "sshd", "pid", "123", "message", "Failed password for root from 203.0.113.5 port 52144 ssh2"),
				time: "2026-11-22T10:00:00Z"}},
		{"linux tag only",
			"sshd[123]: Failed password for invalid user admin from 203.0.113.5 port 1 ssh2",
			want{fields: fields("program", "sshd", "pid", "123", "message", "Failed password for invalid user admin from 203.0.113.5 port 1 ssh2"),
				flags: event.FlagNoTime}},
		{"linux pam tag",
			"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
			want{fields: fields("hostname", "combo", "program", "sshd(pam_unix)", "pid", "19939",
				"message", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 "),
				host: "combo", time: "2026-06-14T15:16:01Z"}},
		{"nxlog rfc3164",
			"<14>Nov 22 10:00:00 DC01 Microsoft-Windows-Security-Auditing[4]: An account was successfully logged on.",
			want{fields: fields("facility", "user", "severity", "info", "priority", "14", "hostname", "DC01",
				"program", "Microsoft-Windows-Security-Auditing", "pid", "4", "message", "An account was successfully logged on."),
				host: "DC01", time: "2026-11-22T10:00:00Z"}},
		{"no tag",
			"<13>Nov 22 10:00:00 host just some words",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "host",
				"message", "just some words"), host: "host", time: "2026-11-22T10:00:00Z"}},
		{"one key=value pair is a sentence",
			"<13>foo=bar and more words",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "message", "foo=bar and more words"), flags: event.FlagNoTime}},
		{"rfc5424 message with leading spaces",
			"<13>1 2026-11-22T10:00:00Z h p 1 - -   indented",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "h", "program", "p", "pid", "1", "message", "indented"),
				host: "h", time: "2026-11-22T10:00:00Z"}},
		{"crlf and nul at the end",
			"<13>Nov 22 10:00:00 host prog: msg\r\n\x00",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "host",
				"program", "prog", "message", "msg"), host: "host", time: "2026-11-22T10:00:00Z"}},
		{"shift_jis",
			sjis,
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "fs01",
				"program", "smbd", "pid", "77", "message", "ログイン失敗 ユーザー=山田"),
				host: "fs01", time: "2026-11-22T10:00:00Z", flags: event.FlagInvalidText, reason: "decoded as Shift_JIS"}},
		{"euc-jp",
			euc,
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "fs01",
				"program", "app", "message", "日本語のメッセージです"),
				host: "fs01", time: "2026-11-22T10:00:00Z", flags: event.FlagInvalidText, reason: "decoded as EUC-JP"}},
		{"utf-8 cut inside a character",
			"<13>Nov 22 10:00:00 host app: 日本\xe8\xaa",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "host",
				"program", "app", "message", "日本\uFFFD"),
				host: "host", time: "2026-11-22T10:00:00Z", flags: event.FlagInvalidText, reason: "incomplete UTF-8"}},
		{"binary garbage",
			"\x00\x01\xff\xfe\x80garbage\x1b[0m\xc3",
			want{fields: fields("message", "\x00\x01\uFFFDgarbage\x1b[0m\uFFFD"),
				flags: event.FlagParseError | event.FlagInvalidText | event.FlagNoTime, reason: "invalid UTF-8"}},
		{"plain text",
			"hello world",
			want{fields: fields("message", "hello world"), flags: event.FlagParseError | event.FlagNoTime, reason: "not a syslog message"}},
		{"empty",
			"",
			want{fields: fields("message", ""), flags: event.FlagParseError | event.FlagNoTime, reason: "not a syslog message"}},
		{"pri out of range",
			"<192>Nov 22 10:00:00 host prog: msg",
			want{fields: fields("message", "<192>Nov 22 10:00:00 host prog: msg"),
				flags: event.FlagParseError | event.FlagNoTime, reason: "not a syslog message"}},
		{"pri only",
			"<0>",
			want{fields: fields("facility", "kern", "severity", "emerg", "priority", "0", "message", ""), flags: event.FlagNoTime}},
		{"time out of range",
			"<13>9999-01-01T00:00:00Z host prog: msg",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "host",
				"program", "prog", "message", "msg", "event_time_raw", "9999-01-01T00:00:00Z"),
				host: "host", flags: event.FlagTimeSkew | event.FlagNoTime, reason: "timestamp out of range"}},
		{"february 29 takes the nearest leap year",
			"<13>Feb 29 10:00:00 host prog: msg",
			want{fields: fields("facility", "user", "severity", "notice", "priority", "13", "hostname", "host",
				"program", "prog", "message", "msg", "event_time_raw", "Feb 29 10:00:00"),
				host: "host", flags: event.FlagTimeSkew | event.FlagNoTime, reason: "timestamp out of range"}},
	}
}

func parseLine(line string, rec time.Time) event.Event {
	var ev event.Event
	ev.Received = rec.UnixNano()
	Parse([]byte(line), &ev)
	return ev
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			ev := parseLine(tc.line, received)
			got := map[string]string{}
			for _, f := range ev.Fields {
				if _, dup := got[f.Name()]; dup {
					t.Errorf("field %s appears twice", f.Name())
				}
				got[f.Name()] = f.Value
			}
			if diff := cmp.Diff(tc.want.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if ev.Host != tc.want.host {
				t.Errorf("Host = %q, want %q", ev.Host, tc.want.host)
			}
			wantTime := received
			if tc.want.time != "" {
				var err error
				if wantTime, err = time.Parse(time.RFC3339Nano, tc.want.time); err != nil {
					t.Fatal(err)
				}
			}
			if !ev.TimeOf().Equal(wantTime) {
				t.Errorf("Time = %s, want %s", ev.TimeOf().Format(time.RFC3339Nano), wantTime.Format(time.RFC3339Nano))
			}
			if ev.Flags != tc.want.flags {
				t.Errorf("Flags = %v, want %v (reason %q)", ev.Flags.Names(), tc.want.flags.Names(), ev.Reason)
			}
			if !strings.Contains(ev.Reason, tc.want.reason) || (tc.want.reason == "") != (ev.Reason == "") {
				t.Errorf("Reason = %q, want it to contain %q", ev.Reason, tc.want.reason)
			}
			if !bytes.Equal(ev.Raw, []byte(tc.line)) {
				t.Errorf("Raw = %q, want the input", ev.Raw)
			}
		})
	}
}

func TestYearInference(t *testing.T) {
	for _, tc := range []struct{ received, line, want string }{
		{"2027-01-01T00:30:00Z", "<13>Dec 31 23:59:00 h p: m", "2026-12-31T23:59:00Z"},
		{"2026-12-31T23:30:00Z", "<13>Jan  1 09:00:00 h p: m", "2027-01-01T09:00:00Z"},
		{"2026-11-22T12:00:00Z", "<13>Nov 23 11:59:00 h p: m", "2026-11-23T11:59:00Z"},
		{"2026-11-22T12:00:00Z", "<13>Nov 23 12:01:00 h p: m", "2025-11-23T12:01:00Z"},
		{"2028-03-01T00:00:00Z", "<13>Feb 29 10:00:00 h p: m", "2028-02-29T10:00:00Z"},
	} {
		rec, err := time.Parse(time.RFC3339, tc.received)
		if err != nil {
			t.Fatal(err)
		}
		ev := parseLine(tc.line, rec)
		if got := ev.TimeOf().Format(time.RFC3339); got != tc.want {
			t.Errorf("received %s, %q: time %s, want %s", tc.received, tc.line, got, tc.want)
		}
	}
}

// TestParseReusedEvent checks that an event reused after Reset carries
// nothing over and keeps its field storage.
func TestParseReusedEvent(t *testing.T) {
	var ev event.Event
	ev.Received = received.UnixNano()
	Parse([]byte(`<14>1 2026-11-22T10:00:00Z h app - - [x@1 a="1" b="2"] m`), &ev)
	before := cap(ev.Fields)
	ev.Reset()
	ev.Received = received.UnixNano()
	Parse([]byte("<13>Nov 22 10:00:00 host prog: msg"), &ev)
	if _, ok := ev.Lookup("sd.x@1.a"); ok || len(ev.Fields) != 6 {
		t.Errorf("fields after reuse: %v", ev.Fields)
	}
	if cap(ev.Fields) != before {
		t.Errorf("field storage not reused: cap %d, was %d", cap(ev.Fields), before)
	}
}

func checkInvariants(t *testing.T, line []byte, ev *event.Event) {
	t.Helper()
	if !bytes.Equal(ev.Raw, line) {
		t.Fatalf("Raw = %q, want %q", ev.Raw, line)
	}
	for _, f := range ev.Fields {
		if !utf8.ValidString(f.Value) || !utf8.ValidString(f.Name()) {
			t.Fatalf("field %q = %q is not UTF-8", f.Name(), f.Value)
		}
	}
	if !utf8.ValidString(ev.Host) {
		t.Fatalf("Host %q is not UTF-8", ev.Host)
	}
	if ev.Flags.Has(event.FlagParseError) && ev.Reason == "" {
		t.Fatal("flagged without a reason")
	}
	if ev.Flags.Has(event.FlagNoTime) && ev.Time != ev.Received {
		t.Fatalf("FlagNoTime but Time %d != Received %d", ev.Time, ev.Received)
	}
	if _, ok := ev.Get(fieldMessage); !ok && ev.Flags.Has(event.FlagParseError) {
		t.Fatal("parse error without a message field")
	}
}
