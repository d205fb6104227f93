// SPDX-License-Identifier: Apache-2.0

// Package evtx reads Windows XML event log files (.evtx) and renders each
// event record to flat, named fields the way Sigma rules address them
// (EventID, Channel, Provider_Name, and one field per EventData item).
//
// The format: a 4 KiB file header ("ElfFile"), then 64 KiB chunks
// ("ElfChnk"), each with its own header, checksums, name and template
// tables, and event records ("**\x00\x00"). A record holds binary XML
// (BinXml): usually a template instance whose definition lives earlier in the
// same chunk (or inline, the first time), with typed substitution values.
// Template definitions are compiled once per chunk into a small instruction
// list, and records are rendered straight from the chunk bytes into a reused
// byte arena: the parser builds no XML tree, and a record costs one
// allocation (the string its field values share). Parser state is pooled, so
// reading many small files allocates little more.
//
// Field naming and value formatting follow the evtx_dump JSON renderings that
// SigmaHQ ships beside its regression .evtx files (a test compares every
// value): numbers in decimal, GUIDs upper-case without braces, SIDs as
// S-1-…, hex32/hex64 as lower-case 0x…, binary as upper-case hex, FILETIME
// and SYSTEMTIME as RFC 3339 UTC with six fraction digits, arrays joined by
// commas, and trailing white space trimmed from strings. See Record for the
// field names.
//
// The input is untrusted: every length read is checked against the bytes
// that remain, the work and output of a record and of a chunk are bounded,
// nothing panics, and a corrupt chunk or record is skipped with a Warning
// while the walk goes on (Reader.Salvage keeps the good records of a chunk
// whose checksum fails).
//
// Who calls it: intake's file import and `koban scan` (through normalize,
// which maps the fields onto event.Event). It must never import other koban
// packages, log, or read anything but the io.ReaderAt it is given. A Reader
// is for one goroutine; Readers of different files may run in parallel.
package evtx
