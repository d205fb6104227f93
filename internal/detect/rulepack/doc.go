// SPDX-License-Identifier: Apache-2.0

// Package rulepack is koban's own Sigma rule pack for small companies: the
// detections an SME needs first, written as plain Sigma YAML (specification
// v2.1) with Japanese and English titles and descriptions (custom
// attributes title_ja and description_ja beside title and description).
//
// The rules live in rules/*.yml and are embedded in the binary: brute force,
// password spraying and "brute force followed by success" as correlation
// rules over Windows Security 4625/4771/4648/4624 and sshd's log; members
// added to administrator groups (Windows 4732/4728/4756 by SID, Linux
// usermod/gpasswd via syslog and auditd); audit logs cleared (1102, 104);
// Remote Desktop, network and SSH logons from public addresses; elevated
// logons outside business hours; and mass file renames or deletions
// (Security 4663, Sysmon 11) as ransomware signs. Rule files follow
// SigmaHQ's naming (product_service_what.yml; mr_ for files holding
// correlations, each with the base rules it refers to by name). Base rules
// that only feed a correlation have level informational and say so.
//
// Field names are those internal/normalize produces: Windows EventData and
// System names (TargetUserName, IpAddress, LogonType, TimeCreated, Computer),
// sshd's derived User, SourceIp, AuthMethod and AuthResult, syslog's
// hostname, program and message, auditd's own keys.
//
// The package only exposes the files (FS, Files); it never parses or
// compiles them and imports no other koban package. Who calls it: app and
// the scan and rules commands load FS into the Sigma engine beside
// SigmaHQ's rules; its tests check every rule with internal/sigma and replay
// real EVTX samples from the shared data.
package rulepack
