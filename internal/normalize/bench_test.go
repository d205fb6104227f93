// SPDX-License-Identifier: Apache-2.0

package normalize

import (
	"testing"

	"github.com/koban-csirt/koban/internal/event"
)

// BenchmarkEvent normalises one event of each source kind. Each iteration
// copies the event's fields into a reused slice with room for the derived
// fields, as an intake that reuses its events would hand them over.
func BenchmarkEvent(b *testing.B) {
	n := New()
	kinds := []string{"sysmon", "security4688", "winlogbeat", "nxlog", "syslog-sshd", "syslog-line", "sudo", "auditd",
		"linux-sysmon", "zeek-http", "suricata-dns", "access-log", "fortigate", "generic"}
	for _, k := range kinds {
		src := newEvent(samples()[k]...)
		b.Run(k, func(b *testing.B) {
			e := event.Event{Fields: make([]event.Field, 0, len(src.Fields)+16)}
			b.ReportAllocs()
			for b.Loop() {
				e.Fields = append(e.Fields[:0], src.Fields...)
				e.Time, e.Received, e.Log, e.Host, e.Flags, e.Reason = src.Time, src.Received, src.Log, "", 0, ""
				n.Event(&e)
			}
		})
	}
}
