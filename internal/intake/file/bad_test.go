// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"

	"github.com/koban-csirt/koban/internal/event"
)

// importBytes runs the importer over data named name, as Import does over
// a file.
func importBytes(name string, data []byte, o Options) (Summary, []event.Event, error) {
	s := &memSink{}
	im := newImporter(context.Background(), s, o, name, bytes.NewReader(data), int64(len(data)), time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	err := im.run()
	return im.sum, s.events, err
}

func TestDetect(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, head string
		want       Format
	}{
		{"x.evtx", "ElfFile\x00\x00\x00", FormatEVTX},
		{"renamed.log", "ElfFile\x00\x00\x00", FormatEVTX},
		{"bad.evtx", "not an event log", FormatEVTX},
		{"conn.log", "#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\n", FormatZeek},
		{"conn.log", `{"_path":"conn","ts":"2018-03-24T17:15:20Z","uid":"C1"}` + "\n", FormatZeekJSON},
		{"x.log", `{"@stream":"conn","ts":1588205199.8,"uid":"C1"}` + "\n", FormatZeekJSON},
		{"x.log", `{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1"}` + "\n", FormatZeekJSON},
		{"eve.json", `{"timestamp":"2017-01-30T16:12:26.985026+0100","event_type":"dns"}` + "\n", FormatSuricata},
		{"eve.json", "garbage first line\n" + strings.Repeat(`{"timestamp":"2017-01-30T16:12:26+0100","event_type":"dns"}`+"\n", 3), FormatSuricata},
		{"app.json", `{"level":"info","msg":"x"}` + "\n" + `{"level":"warn"}` + "\n", FormatJSONL},
		{"\ufeffbom.json", "\xef\xbb\xbf{\"a\":1}\n", FormatJSONL},
		{"a.json", "[\n  {\"a\": 1},\n  {\"a\": 2}\n]\n", FormatJSON},
		{"a.json", `[{"a":1}]`, FormatJSON},
		{"pretty.json", "{\n  \"Event\": {\n    \"System\": {}\n  }\n}\n", FormatJSON},
		{"apache.log", "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\n", FormatSyslog},
		{"x.log", "[notice] started\n", FormatSyslog},
		{"x.log", "[2024-01-01 10:00:00] INFO up\n", FormatSyslog},
		{"users.csv", "name,email,role\nalice,a@example.com,admin\nbob,b@example.com,analyst\n", FormatCSV},
		{"export.txt", "日時;ユーザー;操作\n2024/1/5 9:03;山田;ログイン\n", FormatCSV},
		{"export.tsv", "time\tuser\taction\n2024-01-05 09:03:00\tyamada\tlogin\n", FormatCSV},
		{"numbers.csv", "2019,2020\n1,2\n", FormatCSV},
		{"numbers.txt", "2019,2020\n1,2\n", FormatSyslog},
		{"auth.log", "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0\n", FormatSyslog},
		{"cbs.log", "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505 with Core\n", FormatSyslog},
		{"x.log", "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - 'su root' failed\n", FormatSyslog},
		{"sentence.txt", "Hello, this is a sentence, with commas, in prose form.\nAnd another, quite different.\n", FormatSyslog},
		{"empty.log", "", FormatSyslog},
		{"blank.log", "\n\n  \n", FormatSyslog},
		{"x.zip", "PK\x03\x04\x14\x00\x00\x00", ""},
		{"x.log", "\x00\x01\x02\x03binary", ""},
		{"utf16.log", "\xff\xfeH\x00e\x00l\x00", ""},
		{"ctl.log", strings.Repeat("\x01\x02\x03abc", 100), ""},
	}
	for _, c := range cases {
		if got := Detect(c.name, []byte(c.head)); got != c.want {
			t.Errorf("Detect(%q, %.60q) = %q, want %q", c.name, c.head, got, c.want)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	t.Parallel()
	garbage := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.IntN(256))
	}
	garbage[10] = 0
	p := writeFile(t, "garbage.log", garbage, time.Time{})
	_, err := Import(context.Background(), p, &memSink{}, Options{})
	if !errors.Is(err, ErrUnknownFormat) || !strings.Contains(err.Error(), "garbage.log") || !strings.Contains(err.Error(), "binary data") {
		t.Fatalf("Import(binary garbage) error = %v, want ErrUnknownFormat naming the file", err)
	}
	// Read as text on request: every line is kept, flagged.
	sum, s := importFile(t, p, Options{Format: FormatSyslog})
	if sum.Events == 0 || sum.Flagged != sum.Events {
		t.Fatalf("binary read as syslog: %d events, %d flagged", sum.Events, sum.Flagged)
	}
	var raw int
	for _, e := range s.events {
		raw += len(e.Raw) + 1
	}
	if raw < len(garbage)-100 {
		t.Errorf("raw bytes kept %d of %d", raw, len(garbage))
	}
	if _, err := Import(context.Background(), p, &memSink{}, Options{Format: "xml"}); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("unknown --format: %v", err)
	}
	if _, err := Import(context.Background(), filepath.Join(t.TempDir(), "missing.log"), &memSink{}, Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Import(context.Background(), t.TempDir(), &memSink{}, Options{}); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("directory: %v", err)
	}
}

// TestTruncatedGzip: the error says where the data ends; the events before
// are kept.
func TestTruncatedGzip(t *testing.T) {
	t.Parallel()
	var text strings.Builder
	for i := range 20000 {
		text.WriteString("Oct 11 22:14:15 host app[1]: message number ")
		text.WriteString(strings.Repeat("x", i%50))
		text.WriteString("\n")
	}
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	_, _ = z.Write([]byte(text.String()))
	_ = z.Close()
	p := filepath.Join(t.TempDir(), "app.log.gz")
	if err := os.WriteFile(p, gz.Bytes()[:gz.Len()/2], 0o600); err != nil {
		t.Fatal(err)
	}
	s := &memSink{}
	sum, err := Import(context.Background(), p, s, Options{Batch: 100})
	if err == nil || !strings.Contains(err.Error(), "cut short after line") || !strings.Contains(err.Error(), "app.log.gz") {
		t.Fatalf("truncated gzip: err = %v", err)
	}
	if sum.Events < 5000 || sum.Events >= 20000 || int64(len(s.events)) != sum.Events {
		t.Fatalf("truncated gzip: %d events kept (sink %d), want the lines before the cut", sum.Events, len(s.events))
	}
	t.Logf("%v; %d events kept", err, sum.Events)
}

func TestLongLine(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("A", 10<<20)
	cases := []struct {
		format Format
		data   string
	}{
		{FormatSyslog, "Oct 11 22:14:15 host app: first\nOct 11 22:14:16 host app: " + long + "\nOct 11 22:14:17 host app: last\n"},
		{FormatJSONL, `{"a":"first"}` + "\n" + `{"a":"` + long + `"}` + "\n" + `{"a":"last"}` + "\n"},
		{FormatCSV, "a,b\nfirst,1\n" + long + ",2\nlast,3\n"},
		{FormatZeek, "#separator \\x09\n#fields\tts\ta\n1521911720.1\tfirst\n1521911720.2\t" + long + "\n1521911720.3\tlast\n"},
		{FormatJSON, `[{"a":"first"},{"a":"` + long + `"},{"a":"last"}]`},
	}
	for _, c := range cases {
		sum, evs, err := importBytes("long", []byte(c.data), Options{Format: c.format})
		if err != nil || sum.Events != 3 {
			t.Fatalf("%s: %d events, %v; want 3", c.format, sum.Events, err)
		}
		mid := evs[1]
		if !mid.Flags.Has(event.FlagTruncated) || len(mid.Raw) > DefaultMaxLineBytes || len(mid.Raw) < DefaultMaxLineBytes/2 {
			t.Errorf("%s: long record flags %v, raw %d bytes", c.format, mid.Flags.Names(), len(mid.Raw))
		}
		if evs[0].Flags.Has(event.FlagTruncated) || evs[2].Flags.Has(event.FlagTruncated) || !bytes.Contains(evs[2].Raw, []byte("last")) {
			t.Errorf("%s: the records around the long one: %v %q", c.format, evs[2].Flags.Names(), evs[2].Raw)
		}
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	sjis, err := japanese.ShiftJIS.NewEncoder().String("日時,ユーザー,操作,備考\r\n2024/1/5 9:03,山田太郎,ログイン,\"社外から, VPN\"\r\n2024/01/05 18:30:00,佐藤,ログアウト,\r\n")
	if err != nil {
		t.Fatal(err)
	}
	jst := time.FixedZone("JST", 9*3600)
	cases := []struct {
		name    string
		data    string
		want    []map[string]string // fields per row
		times   []time.Time
		flagged []event.Flag
	}{
		{
			name: "quotes", data: "\xef\xbb\xbfname,note,timestamp\r\n\"Smith, J\",\"said \"\"hi\"\"\nthen left\",2024-01-05T09:03:00Z\r\nplain,,1704445380\r\n",
			want:    []map[string]string{{"name": "Smith, J", "note": "said \"hi\"\nthen left", "timestamp": "2024-01-05T09:03:00Z"}, {"name": "plain", "timestamp": "1704445380"}},
			times:   []time.Time{time.Date(2024, 1, 5, 9, 3, 0, 0, time.UTC), time.Date(2024, 1, 5, 9, 3, 0, 0, time.UTC)},
			flagged: []event.Flag{0, 0},
		},
		{
			name: "semicolons", data: "time;user;action\n2024-01-05 09:03:00;alice;login\n2024-01-05 09:04:00;bob;logout;extra\n;\n",
			want:    []map[string]string{{"time": "2024-01-05 09:03:00", "user": "alice", "action": "login"}, {"time": "2024-01-05 09:04:00", "user": "bob", "action": "logout", "column_4": "extra"}, {}},
			times:   []time.Time{time.Date(2024, 1, 5, 9, 3, 0, 0, jst), time.Date(2024, 1, 5, 9, 4, 0, 0, jst), {}},
			flagged: []event.Flag{0, event.FlagParseError, event.FlagParseError | event.FlagNoTime},
		},
		{
			name: "shift_jis", data: sjis,
			want:    []map[string]string{{"日時": "2024/1/5 9:03", "ユーザー": "山田太郎", "操作": "ログイン", "備考": "社外から, VPN"}, {"日時": "2024/01/05 18:30:00", "ユーザー": "佐藤", "操作": "ログアウト"}},
			times:   []time.Time{time.Date(2024, 1, 5, 9, 3, 0, 0, jst), time.Date(2024, 1, 5, 18, 30, 0, 0, jst)},
			flagged: []event.Flag{0, 0},
		},
		{
			name: "invalid utf-8", data: "a,b\nok,\xff\xfebad\n",
			want:    []map[string]string{{"a": "ok", "b": "\ufffdbad"}},
			flagged: []event.Flag{event.FlagInvalidText | event.FlagNoTime},
		},
		{
			name: "open quote", data: "a,b\n1,\"never closed\n2,3\n",
			want:    []map[string]string{{"a": "1", "b": "never closed\n2,3"}},
			flagged: []event.Flag{event.FlagParseError | event.FlagNoTime},
		},
		{
			name: "duplicate and empty names", data: "a,a,,b\n1,2,3,4\n",
			want:    []map[string]string{{"a": "1", "a_2": "2", "column_3": "3", "b": "4"}},
			flagged: []event.Flag{event.FlagNoTime},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "x.csv", []byte(c.data), time.Time{})
			sum, s := importFile(t, p, Options{Location: jst, Format: FormatCSV})
			if len(s.events) != len(c.want) {
				t.Fatalf("%d events, want %d", len(s.events), len(c.want))
			}
			for i, want := range c.want {
				e := &s.events[i]
				got := map[string]string{}
				for _, f := range e.Fields {
					got[f.Name()] = f.Value
				}
				if len(got) != len(want) {
					t.Errorf("row %d: fields %v, want %v", i+1, got, want)
				}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("row %d: %s = %q, want %q", i+1, k, got[k], v)
					}
				}
				if e.Flags != c.flagged[i] {
					t.Errorf("row %d: flags %v (%s), want %v", i+1, e.Flags.Names(), e.Reason, c.flagged[i].Names())
				}
				if c.times != nil && !c.times[i].IsZero() && !e.TimeOf().Equal(c.times[i]) {
					t.Errorf("row %d: time %s, want %s", i+1, e.TimeOf(), c.times[i])
				}
			}
			_ = sum
		})
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		data     string
		events   int
		flagged  int // parse errors
		skipped  int64
		skipLine int64
	}{
		{"array", "[\n {\"a\": 1, \"time\": \"2024-01-05T09:03:00Z\"},\n {\"a\": [1, {\"b\": \"]\"}]}\n]\n", 2, 0, 0, 0},
		{"wrong types", `[1, "text", {"a": 1}, null, [2], true]`, 6, 5, 0, 0},
		{"concatenated", "{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n", 2, 0, 0, 0},
		{"arrays one after another", `[{"a":1}][{"a":2}]`, 2, 0, 0, 0},
		{"syntax error in array", "[\n{\"a\": 1},\n{\"a\": 2]\n,{\"a\": 3}]", 2, 1, 1, 3},
		{"missing comma", "[\n{\"a\": 1}\n{\"a\": 2}]", 1, 0, 1, 3},
		{"garbage between", "{\"a\": 1}\nnot json at all\n{\"a\": 2}\n", 3, 1, 0, 0},
		{"array not closed", "[{\"a\":1},{\"a\":2}", 2, 0, 0, 0},
		{"value not closed", "{\"a\": {\"b\": 1}\n", 1, 1, 0, 0},
		{"string with brackets", `[{"a":"}]{[\"\\"}]`, 1, 0, 0, 0},
	}
	for _, c := range cases {
		sum, evs, err := importBytes("x.json", []byte(c.data), Options{Format: FormatJSON})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		flagged := 0
		for _, e := range evs {
			if e.Flags.Has(event.FlagParseError) {
				flagged++
				if len(e.Raw) == 0 {
					t.Errorf("%s: a flagged event without raw bytes", c.name)
				}
			}
		}
		if len(evs) != c.events || flagged != c.flagged || sum.SkippedTotal != c.skipped {
			t.Errorf("%s: %d events (%d flagged), %d skipped; want %d (%d), %d", c.name, len(evs), flagged, sum.SkippedTotal, c.events, c.flagged, c.skipped)
		}
		if c.skipped > 0 && (len(sum.Skipped) == 0 || sum.Skipped[0].Line != c.skipLine || sum.Skipped[0].File != "x.json" || sum.Skipped[0].Reason == "") {
			t.Errorf("%s: skips %+v, want one at line %d", c.name, sum.Skipped, c.skipLine)
		}
	}
	// A JSON array is streamed: its elements are read one at a time.
	var b strings.Builder
	b.WriteString("[")
	for i := range 50000 {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(`{"n":` + strings.Repeat("1", 1+i%5) + `,"ts":1704445380.5}`)
	}
	b.WriteString("]")
	sum, evs, err := importBytes("big.json", []byte(b.String()), Options{})
	if err != nil || sum.Events != 50000 || sum.Flagged != 0 || sum.Format != FormatJSON {
		t.Fatalf("big array: %s %d events %d flagged %v", sum.Format, sum.Events, sum.Flagged, err)
	}
	if evs[0].Time != 1704445380_500000000 {
		t.Errorf("time %d", evs[0].Time)
	}
}

func TestZeekTSV(t *testing.T) {
	t.Parallel()
	data := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\thttp\n" +
		"#fields\tts\tuid\turi\tuser_agent\ttags\n#types\ttime\tstring\tstring\tstring\tset[enum]\n" +
		"1521911720.865716\tC1\t/a\\x09b\\\\c\t(empty)\t-\n" +
		"1521911721.000001\tC2\t/\\xe6\\x97\\xa5\\xff\\x07\tcurl\tA,B\n" +
		"1521911722\tC3\ttoo few\n" +
		"#close\t2024-04-12-19-34-07\n" +
		"#separator \\x2c\n#fields,ts,query\n1521911723.5,example.com\n"
	sum, evs, err := importBytes("x.log", []byte(data), Options{})
	if err != nil || sum.Format != FormatZeek || len(evs) != 4 {
		t.Fatalf("%s, %d events, %v", sum.Format, len(evs), err)
	}
	want := []map[string]string{
		{"ts": "1521911720.865716", "uid": "C1", "uri": "/a\tb\\c", "user_agent": ""},
		{"ts": "1521911721.000001", "uid": "C2", "uri": "/日\\xff\\x07", "user_agent": "curl", "tags": "A,B"},
		{"ts": "1521911722", "uid": "C3", "uri": "too few"},
		{"ts": "1521911723.5", "query": "example.com"},
	}
	times := []int64{1521911720_865716000, 1521911721_000001000, 1521911722_000000000, 1521911723_500000000}
	for i, w := range want {
		e := &evs[i]
		if len(e.Fields) != len(w) || e.Time != times[i] || e.Log.Product != "zeek" || e.Log.Service != "http" {
			t.Errorf("line %d: %v time %d log %+v", i, e.Fields, e.Time, e.Log)
		}
		for k, v := range w {
			if got, _ := e.Lookup(k); got != v {
				t.Errorf("line %d: %s = %q, want %q", i, k, got, v)
			}
		}
	}
	if evs[0].Flags != 0 || evs[1].Flags != 0 || !evs[2].Flags.Has(event.FlagParseError) || evs[3].Flags != 0 {
		t.Errorf("flags %v %v %v %v", evs[0].Flags.Names(), evs[1].Flags.Names(), evs[2].Flags.Names(), evs[3].Flags.Names())
	}
	// Data before any #fields line is kept, flagged.
	_, evs, _ = importBytes("y.log", []byte("1521911720.1\tC1\n"), Options{Format: FormatZeek})
	if len(evs) != 1 || !evs[0].Flags.Has(event.FlagParseError) || evs[0].Log.Service != "y" {
		t.Errorf("headerless line: %+v", evs)
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	data := []byte("Oct 11 22:14:15 host app: one\nOct 11 22:14:15 host app: one\nno time here\n")
	p := writeFile(t, "x.log", data, time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, a := importFile(t, p, Options{Now: func() time.Time { return now }})
	_, b := importFile(t, p, Options{Now: func() time.Time { return now.Add(time.Hour) }})
	for i := range a.events {
		if a.events[i].ID != b.events[i].ID {
			t.Errorf("line %d: ids %s and %s for two imports", i+1, a.events[i].ID, b.events[i].ID)
		}
	}
	if a.events[0].ID == a.events[1].ID {
		t.Error("two equal lines at different offsets share an id")
	}
	// Without a time the event takes the import's time, flagged, and its id
	// the file's modification time.
	e := a.events[2]
	if !e.Flags.Has(event.FlagNoTime) || e.Time != now.UnixNano() || e.Received != now.UnixNano() {
		t.Errorf("no-time event: flags %v time %s", e.Flags.Names(), e.TimeOf())
	}
	if got := int64(binaryTime(e.ID)); got != time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC).UnixNano() {
		t.Errorf("no-time id time %s", time.Unix(0, got).UTC())
	}
	// A line appended later keeps the others' ids.
	p2 := writeFile(t, "x.log", append(data, "Oct 11 22:14:16 host app: two\n"...), time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC))
	if err := os.Rename(p2, p); err != nil {
		t.Fatal(err)
	}
	_, c := importFile(t, p, Options{})
	if len(c.events) != 4 || c.events[0].ID != a.events[0].ID || c.events[2].ID != a.events[2].ID {
		t.Errorf("ids changed when the file grew")
	}
}

func binaryTime(id event.ID) uint64 {
	var t uint64
	for _, b := range id[:8] {
		t = t<<8 | uint64(b)
	}
	return t
}

func TestSinkFullAndFailing(t *testing.T) {
	t.Parallel()
	data := strings.Repeat("Oct 11 22:14:15 host app: x\n", 250)
	p := writeFile(t, "x.log", []byte(data), time.Time{})
	s := &memSink{full: 3}
	sum, err := Import(context.Background(), p, s, Options{Batch: 100})
	if err != nil || sum.Events != 250 || len(s.events) != 250 || s.calls != 6 {
		t.Fatalf("full sink: %d events (%d kept), %d calls, %v", sum.Events, len(s.events), s.calls, err)
	}
	boom := errors.New("disk on fire")
	sum, err = Import(context.Background(), p, &memSink{fail: boom}, Options{Batch: 100})
	if !errors.Is(err, boom) || sum.Events != 0 {
		t.Fatalf("failing sink: %d events, %v", sum.Events, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cs := &cancelSink{after: 2, cancel: cancel}
	sum, err = Import(ctx, p, cs, Options{Batch: 50})
	if !errors.Is(err, context.Canceled) || sum.Events != 100 {
		t.Fatalf("cancelled: %d events, %v; want the 100 appended before", sum.Events, err)
	}
}

// cancelSink cancels the import after some batches.
type cancelSink struct {
	after  int
	cancel func()
}

func (c *cancelSink) Append(ctx context.Context, evs []event.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.after--; c.after == 0 {
		c.cancel()
	}
	return nil
}

func TestZeekUnescape(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`plain`:                     "plain",
		`a\x09b`:                    "a\tb",
		`\\\\host\\share`:           `\\host\share`,
		`\x00\x00`:                  `\x00\x00`,
		`\xe6\x97\xa5\xe6\x9c\xac`:  "日本",
		`\xe6\x97`:                  `\xe6\x97`,
		`\xzz`:                      `\xzz`,
		`end\`:                      `end\`,
		`\x7f\x41`:                  `\x7fA`,
		`mstshash\\=`:               `mstshash\=`,
		"\\x0a":                     "\n",
		`\xe6\x97\xa5\xff\xe6\x97`:  `日\xff\xe6\x97`,
		`\x41\x42\x43\x44\x45\x46x`: "ABCDEFx",
	}
	for in, want := range cases {
		if got := zeekUnescape(in); got != want || !utf8.ValidString(got) {
			t.Errorf("zeekUnescape(%q) = %q, want %q", in, got, want)
		}
	}
}
