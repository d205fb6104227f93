// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"testing"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/koban-csirt/koban/internal/event"
)

// benchLines are typical lines of about 150 bytes, one per variant.
var benchLines = []struct{ name, line string }{
	{"rfc3164", "<38>Nov 22 10:00:00 web01 sshd[12345]: Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2"},
	{"rfc3164-nopri", "Nov 22 10:00:00 web01 sshd[12345]: Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2"},
	{"rsyslog-forward", "<38>2026-11-22T10:00:00.123456+09:00 web01 sshd[12345]: Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2"},
	{"rfc5424", "<38>1 2026-11-22T10:00:00.123456+09:00 web01 sshd 12345 - - Failed password for invalid user admin from 203.0.113.5 port 52144 ssh2"},
	{"rfc5424-sd", `<165>1 2026-11-22T10:00:00.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`},
	{"cisco-ios", "<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0 (10.0.0.1) on line 4 by user admin at the console"},
	{"cisco-asa", "<166>Nov 22 10:00:00 asa01 : %ASA-6-302013: Built outbound TCP connection 123 for outside:198.51.100.1/443 (198.51.100.1/443) to inside:10.0.0.5/51234"},
	{"fortigate", `<189>date=2026-11-22 time=10:00:00 devname="FGT60E" devid="FGT60ETK18000000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.0.0.1 dstip=93.184.216.34 action="accept"`},
}

// BenchmarkParse measures Parse per variant with an event reused the way
// the listeners reuse theirs.
func BenchmarkParse(b *testing.B) {
	rec := time.Now().UnixNano()
	for _, bl := range benchLines {
		b.Run(bl.name, func(b *testing.B) {
			line := []byte(bl.line)
			var ev event.Event
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				ev.Reset()
				ev.Received = rec
				Parse(line, &ev)
			}
		})
	}
}

// BenchmarkGoSyslog measures github.com/leodido/go-syslog on the same lines
// with every leniency it offers, for comparison with BenchmarkParse. It
// does less than Parse: no event is filled, and lines it cannot read return
// an error (reported as a metric).
func BenchmarkGoSyslog(b *testing.B) {
	p3164 := rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithYear(rfc3164.CurrentYear{}),
		rfc3164.WithRFC3339(), rfc3164.WithSecondFractions())
	p5424 := rfc5424.NewParser(rfc5424.WithBestEffort())
	for _, bl := range benchLines {
		p := p3164
		if bl.name == "rfc5424" || bl.name == "rfc5424-sd" {
			p = p5424
		}
		b.Run(bl.name, func(b *testing.B) {
			line := []byte(bl.line)
			var fails int
			var m gosyslog.Message
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if m, err = p.Parse(line); err != nil {
					fails++
				}
			}
			_ = m // the result is unused: only the time to produce it counts
			b.ReportMetric(float64(fails)/float64(b.N), "errors/op")
		})
	}
}
