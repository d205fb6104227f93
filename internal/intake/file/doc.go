// SPDX-License-Identifier: Apache-2.0

// Package file imports log files: Windows EVTX, JSON lines, JSON documents
// (an array, or objects one after another), CSV, syslog text, Zeek (TSV
// with a #fields header, and JSON) and Suricata EVE. A gzip-compressed file
// is recognised by its magic bytes and read transparently. Detect guesses a
// file's format; Import turns its records into event.Event values and hands
// them to an event.Sink in batches (in koban: normalisation, then the
// journal), and returns a Summary.
//
// Nothing with content is dropped. A record that does not parse as its
// format becomes an event flagged event.FlagParseError that keeps the raw
// line; a line longer than Options.MaxLineBytes is cut and flagged
// event.FlagTruncated; text that is not UTF-8 is repaired and flagged
// event.FlagInvalidText (a whole file in Shift_JIS, as Japanese Excel
// writes CSV, is converted to UTF-8 instead and not flagged). Only what has
// no content is not an event: blank lines, Zeek "#" header and footer
// lines, the CSV header row, JSON array punctuation. A Skip is recorded
// where input truly cannot be kept: after a syntax error inside a JSON array
// the rest of the array cannot be split into elements, so it is skipped with
// its line number and reason. EVTX chunks the evtx parser cannot read are
// reported as Warnings.
//
// Event ids are derived (event.DeriveID) so that importing the same file
// twice yields the same ids and the event store keeps each event once. The
// key is the file's identity, the record's position and its content: the
// absolute path without a ".gz" suffix, the byte offset of the record in the
// uncompressed stream (the record number for EVTX), and the raw record. The
// size of the file is deliberately not part of the key, so that a log that
// grew since the last import gives its old lines their old ids. The time
// part of the id is the event's time, or the file's modification time for
// records that carry no time (their Time is the time of import, flagged
// event.FlagNoTime), so that those ids, too, are stable.
//
// The package never reads configuration and never starts goroutines; it
// must not write anywhere but to the sink (a gzip-compressed EVTX file is
// unpacked into a temporary file, removed before Import returns). Its
// caller is internal/app (the "koban import" command).
package file
