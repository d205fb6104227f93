// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/event"
)

// Format is a file format Import reads.
type Format string

// The formats.
const (
	FormatEVTX     Format = "evtx"      // Windows event log
	FormatJSONL    Format = "jsonl"     // one JSON object per line
	FormatJSON     Format = "json"      // a JSON array of objects, or objects one after another
	FormatCSV      Format = "csv"       // a header row, then rows; comma, semicolon or tab
	FormatSyslog   Format = "syslog"    // syslog text, one message per line
	FormatZeek     Format = "zeek"      // Zeek TSV with #fields header
	FormatZeekJSON Format = "zeek-json" // Zeek JSON lines
	FormatSuricata Format = "suricata"  // Suricata EVE JSON lines
)

// Formats lists the formats Import reads.
var Formats = []Format{FormatEVTX, FormatJSONL, FormatJSON, FormatCSV, FormatSyslog, FormatZeek, FormatZeekJSON, FormatSuricata}

// Valid reports whether f is one of Formats.
func (f Format) Valid() bool {
	for _, g := range Formats {
		if f == g {
			return true
		}
	}
	return false
}

// ErrUnknownFormat is wrapped by Import's error when the format was not
// given and the file's content matches none (binary data, a zip archive).
var ErrUnknownFormat = errors.New("unknown format")

// Defaults for zero Options fields.
const (
	DefaultMaxLineBytes = 1 << 20
	DefaultBatch        = 1024
)

// Options tune Import.
type Options struct {
	// Source is the events' Source; "" means "import:" and the file's base
	// name.
	Source string
	// Format is the file's format; "" means Detect.
	Format Format
	// MaxLineBytes bounds a line (a CSV record, a JSON value); longer ones
	// are cut and flagged event.FlagTruncated. 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// Batch is the number of events per sink.Append. 0 means DefaultBatch.
	Batch int
	// Progress, when set, is called about every 100 ms and once at the end
	// with the bytes read from disk so far and the events appended.
	Progress func(bytesRead, events int64)
	// Location is the time zone of times written without one (CSV cells,
	// syslog text); nil means time.Local.
	Location *time.Location
	// Now returns the current time; nil means time.Now. Events get it as
	// their Received time.
	Now func() time.Time
}

// MaxSkips is the number of Skip entries a Summary keeps.
const MaxSkips = 100

// Summary says what Import did with a file.
type Summary struct {
	Format Format
	// Files is 1 once a file's format is known and its reading began (0
	// for a file that could not be opened or whose format is unknown); Add
	// sums it over files.
	Files   int64
	Events  int64 // appended to the sink
	Flagged int64 // of Events, those with flags
	// Skipped holds the first MaxSkips input parts that could not be kept;
	// SkippedTotal counts all of them.
	Skipped      []Skip
	SkippedTotal int64
	Warnings     []string // such as EVTX chunks that could not be read
	Bytes        int64    // read from disk
	Elapsed      time.Duration
}

// Skip is input that could not be kept as an event.
type Skip struct {
	File   string
	Line   int64
	Reason string
}

// Add adds s's counts to t: totals over several files.
func (t *Summary) Add(s Summary) {
	t.Files += s.Files
	t.Events += s.Events
	t.Flagged += s.Flagged
	t.SkippedTotal += s.SkippedTotal
	for _, k := range s.Skipped {
		if len(t.Skipped) < MaxSkips {
			t.Skipped = append(t.Skipped, k)
		}
	}
	t.Warnings = append(t.Warnings, s.Warnings...)
	t.Bytes += s.Bytes
	t.Elapsed += s.Elapsed
}

// Import reads the file at path (gzip-compressed or not), turns its records
// into events and appends them to sink in batches. The summary counts what
// was appended even when an error stops the import part-way (a truncated
// gzip stream, a cancelled ctx, a failing sink): events before that point
// are kept. When sink reports event.ErrFull, Import waits and retries. A
// cancelled ctx stops the reading; a batch already handed to the sink is
// let finish (the sink gets a context without the cancellation), and the
// events read but not yet handed over are dropped, so that Summary.Events
// is exactly what the sink took.
func Import(ctx context.Context, path string, sink event.Sink, o Options) (Summary, error) {
	start := time.Now()
	if o.Format != "" && !o.Format.Valid() {
		return Summary{}, fmt.Errorf("file: %s: format %q is not one of %s", path, o.Format, formatList())
	}
	f, err := os.Open(path)
	if err != nil {
		return Summary{}, fmt.Errorf("file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Summary{}, fmt.Errorf("file: %w", err)
	}
	if st.IsDir() {
		return Summary{}, fmt.Errorf("file: %s is a directory", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	im := newImporter(ctx, sink, o, path, f, st.Size(), st.ModTime())
	im.key = []byte(strings.TrimSuffix(abs, ".gz"))
	err = im.run()
	im.sum.Elapsed = time.Since(start)
	return im.sum, err
}

// source is what an importer reads: a file, or bytes in tests.
type source interface {
	io.Reader
	io.ReaderAt
}

// importer holds one file's import.
type importer struct {
	ctx   context.Context
	sink  event.Sink
	o     Options
	path  string // as given, for messages
	key   []byte // identity for event ids
	mtime time.Time
	src   source
	size  int64
	disk  *countReader
	sum   Summary

	batch    []event.Event
	n        int // events in batch
	flagged  int64
	idKey    []byte
	received int64
	lastTick time.Time
	ticks    int
}

func newImporter(ctx context.Context, sink event.Sink, o Options, path string, src source, size int64, mtime time.Time) *importer {
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Source == "" {
		o.Source = "import:" + filepath.Base(path)
	}
	return &importer{
		ctx: ctx, sink: sink, o: o, path: path, src: src, size: size, mtime: mtime,
		key:   []byte(strings.TrimSuffix(path, ".gz")),
		disk:  &countReader{r: src},
		batch: make([]event.Event, o.Batch),
	}
}

func formatList() string {
	s := make([]string, len(Formats))
	for i, f := range Formats {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// headBytes is how much of a file Detect sees.
const headBytes = 64 << 10

var gzipMagic = []byte{0x1f, 0x8b}

// run reads the file and reports progress a last time.
func (im *importer) run() error {
	err := im.read()
	im.sum.Bytes = im.disk.n
	if im.o.Progress != nil {
		im.o.Progress(im.disk.n, im.sum.Events)
	}
	return err
}

// read opens the (possibly compressed) stream, picks the format and reads.
func (im *importer) read() error {
	raw := bufio.NewReaderSize(im.disk, 64<<10)
	var r io.Reader = raw
	gz := false
	if m, _ := raw.Peek(2); bytes.Equal(m, gzipMagic) {
		z, err := gzip.NewReader(raw)
		if err != nil {
			return fmt.Errorf("file: %s: gzip header: %w", im.path, err)
		}
		defer z.Close()
		r, gz = z, true
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(headBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return im.readErr(err, 0, 0)
	}
	format := im.o.Format
	if format == "" {
		format = Detect(strings.TrimSuffix(im.path, ".gz"), head)
		if format == "" {
			return fmt.Errorf("file: %s: %w: %s", im.path, ErrUnknownFormat, describe(head))
		}
	}
	im.sum.Format, im.sum.Files = format, 1
	im.received = im.o.Now().UnixNano()
	switch format {
	case FormatEVTX:
		err = im.readEVTX(br, gz)
	case FormatCSV:
		err = im.readCSV(br, head)
	case FormatZeek:
		err = im.readZeek(br)
	case FormatSyslog:
		err = im.readSyslog(br, head)
	case FormatJSONL, FormatZeekJSON, FormatSuricata:
		err = im.readJSONLines(br, format)
	case FormatJSON:
		err = im.readJSON(br)
	}
	if err != nil && im.ctx.Err() == nil {
		// Keep what was read before the damage (a truncated gzip stream).
		if ferr := im.flush(); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return err
	}
	return im.flush()
}

// readErr describes an error of the decompressed stream: where it stopped.
func (im *importer) readErr(err error, line, off int64) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return fmt.Errorf("file: %s: compressed data is damaged or cut short after line %d (byte %d of the uncompressed data, byte %d of the file): %w",
			im.path, line, off, im.disk.n, err)
	}
	return fmt.Errorf("file: %s: read after line %d: %w", im.path, line, err)
}

// slot returns the next event of the batch, reset.
func (im *importer) slot() *event.Event {
	ev := &im.batch[im.n]
	ev.Reset()
	return ev
}

// commit completes the event slot() returned: source, times, id. pos is the
// record's position (byte offset, EVTX record id); the raw bytes are part of
// the id too.
func (im *importer) commit(pos int64) error {
	ev := &im.batch[im.n]
	ev.Source = im.o.Source
	ev.Received = im.received
	idTime := ev.Time
	if ev.Time == 0 || ev.Flags.Has(event.FlagNoTime) {
		ev.Time = ev.Received
		idTime = im.mtime.UnixNano()
		if !ev.Flags.Has(event.FlagNoTime) {
			ev.Flag(event.FlagNoTime, "no time found in the record")
		}
	}
	k := append(im.idKey[:0], im.key...)
	k = binary.AppendVarint(append(k, 0), pos)
	k = append(append(k, 0), ev.Raw...)
	im.idKey = k
	ev.ID = event.DeriveID(idTime, k)
	if ev.Flags != 0 {
		im.flagged++
	}
	im.n++
	if im.n == len(im.batch) {
		return im.flush()
	}
	im.tick()
	return im.ctx.Err()
}

// tick reports progress about every 100 ms.
func (im *importer) tick() {
	if im.o.Progress == nil {
		return
	}
	if im.ticks++; im.ticks%256 != 0 {
		return
	}
	if now := time.Now(); now.Sub(im.lastTick) >= 100*time.Millisecond {
		im.lastTick = now
		im.o.Progress(im.disk.n, im.sum.Events+int64(im.n))
	}
}

// flush appends the batch to the sink, waiting while it is full.
func (im *importer) flush() error {
	if im.n == 0 {
		return im.ctx.Err()
	}
	wait := 10 * time.Millisecond
	for {
		// A batch handed over is finished even when ctx ends meanwhile, so
		// that the summary counts exactly what the sink took.
		err := im.sink.Append(context.WithoutCancel(im.ctx), im.batch[:im.n])
		if err == nil {
			break
		}
		if !errors.Is(err, event.ErrFull) {
			return fmt.Errorf("file: %s: append: %w", im.path, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-im.ctx.Done():
			t.Stop()
			return im.ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
	im.sum.Events += int64(im.n)
	im.sum.Flagged += im.flagged
	im.n, im.flagged = 0, 0
	if now := time.Now(); im.o.Progress != nil && now.Sub(im.lastTick) >= 100*time.Millisecond {
		im.lastTick = now
		im.o.Progress(im.disk.n, im.sum.Events)
	}
	return im.ctx.Err()
}

// skip records input that could not be kept.
func (im *importer) skip(line int64, reason string) {
	im.sum.SkippedTotal++
	if len(im.sum.Skipped) < MaxSkips {
		im.sum.Skipped = append(im.sum.Skipped, Skip{File: im.path, Line: line, Reason: reason})
	}
}

// warn records a warning about the file.
func (im *importer) warn(msg string) {
	im.sum.Warnings = append(im.sum.Warnings, im.path+": "+msg)
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
