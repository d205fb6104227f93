// SPDX-License-Identifier: Apache-2.0

// Package syslog takes in syslog: Parse turns one message into an
// event.Event, and Listen serves UDP, TCP and TLS listeners that frame,
// parse and batch messages into an event.Sink.
//
// Parse is our own: RFC 5424, RFC 3164 and the variants devices really send
// (rsyslog's forwarding format, fractional seconds, a year in the time, no
// PRI, Cisco IOS and ASA, FortiGate key=value, NXLog) in one pass without
// regular expressions. It never fails and never drops: what does not parse
// is flagged and kept with its raw bytes. github.com/leodido/go-syslog,
// measured in parse_bench_test.go, rejects lines without a PRI, rsyslog's
// forwarding format and FortiGate's, and takes about twice as long.
//
// Listeners never lose TCP data to a full sink (they stop reading and
// retry), drop and count UDP datagrams when the sink is full, refuse
// senders outside the allow-list, and bound connections, message size and
// idle time. The sink is the journal (through normalisation); the package
// must never write to a store itself or decide a log's product. After
// Append returns, the listener reuses the slice it passed and each event's
// Fields storage: a Sink must not keep them (field values and Raw it may
// keep). internal/app wires the listeners from config.Intake.Syslog.
package syslog
