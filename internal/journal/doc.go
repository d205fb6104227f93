// SPDX-License-Identifier: Apache-2.0

// Package journal is the durable journal between intake and the pipeline
// (DESIGN.md §2, ADR 0006): accepted events are appended to segment files
// and fsync'd before the sender is acknowledged, and the pipeline and the
// event store read them back at their own committed positions.
//
// Layout of a journal directory:
//
//	lock                         flock'd around every append; holds the end of the last write
//	NNNNNNNNNNNNNNNNNNNN.seg     segment files, numbered from 1, zero-padded
//	readers/NAME.pos             committed position of each named reader
//
// A segment is a sequence of frames: magic, payload length, CRC-32C and a
// payload holding one write batch of events in event.AppendBinary form.
// The CRC also covers the frame's own place (segment and offset), so a
// frame copied elsewhere, for instance inside a logged line, never passes
// for a real one.
//
// Journal.Append is an event.Sink: concurrent callers share one write and one
// fdatasync (group commit). Several processes may append to one directory at
// once (`koban import` while `koban serve` runs): the lock file serialises
// them, and readers tail the files, so they see every process's records.
//
// The journal never drops an acknowledged event: when its queue or its disk
// budget is full it refuses new events with event.ErrFull, and it removes
// only segments that every named reader has committed past. It never
// decides what events mean and imports only the event leaf.
//
// Callers: intake's listeners and `koban import` append; the pipeline and
// the event store each read through their own named Reader. All wiring is
// in app.
package journal
