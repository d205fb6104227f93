// SPDX-License-Identifier: Apache-2.0

package file

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// readAll returns a file's bytes, gunzipped when it ends in .gz.
func readAll(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(z); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// lines returns the non-blank lines of a file, without "#" lines when
// noComments is set.
func lines(t *testing.T, path string, noComments bool) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(readAll(t, path)))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" || noComments && strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// copyWithMtime copies a shared file into a temporary directory with the
// given modification time, which decides the year of yearless syslog times.
func copyWithMtime(t *testing.T, src string, mtime time.Time) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, filepath.Base(src), b, mtime)
}

func TestLoghubSyslog(t *testing.T) {
	t.Parallel()
	dir := shareddata.Dir(t)
	for _, name := range []string{"Linux", "OpenSSH", "Mac", "Apache", "Windows"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src := filepath.Join(dir, "loghub", name, name+"_2k.log")
			path := copyWithMtime(t, src, time.Date(2016, 1, 5, 0, 0, 0, 0, time.UTC))
			sum, s := importFile(t, path, Options{})
			if want := len(lines(t, src, false)); sum.Events != int64(want) || want != 2000 {
				t.Fatalf("%s: %d events, want %d (the file's lines; 2000 by loghub)", name, sum.Events, want)
			}
			if sum.Format != FormatSyslog || sum.SkippedTotal != 0 || sum.Files != 1 {
				t.Errorf("%s: format %s, %d skipped, %d files", name, sum.Format, sum.SkippedTotal, sum.Files)
			}
			for i := range s.events {
				if s.events[i].Source != "import:"+name+"_2k.log" {
					t.Fatalf("source %q", s.events[i].Source)
				}
			}
		})
	}
}

// TestLoghubOpenSSH checks values against the file (read by hand) and
// against loghub's structured CSV of the same lines, read by the CSV
// reader.
func TestLoghubOpenSSH(t *testing.T) {
	t.Parallel()
	src := shareddata.Path(t, "loghub/OpenSSH/OpenSSH_2k.log")
	path := copyWithMtime(t, src, time.Date(2016, 1, 5, 0, 0, 0, 0, time.UTC))
	sum, s := importFile(t, path, Options{})
	if sum.Flagged != 0 {
		t.Errorf("%d flagged events in a clean sshd log", sum.Flagged)
	}
	e := &s.events[0]
	// "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping checking …": the
	// year is the one before the file's modification time (2016-01-05).
	if got, want := e.TimeOf(), time.Date(2015, 12, 10, 6, 55, 46, 0, time.UTC); !got.Equal(want) {
		t.Errorf("first event time %s, want %s", got, want)
	}
	if e.Host != "LabSZ" || get(t, e, "program") != "sshd" || get(t, e, "pid") != "24200" {
		t.Errorf("first event host %q program %q pid %q", e.Host, get(t, e, "program"), get(t, e, "pid"))
	}
	if !strings.HasPrefix(string(e.Raw), "Dec 10 06:55:46 LabSZ sshd[24200]: reverse mapping") {
		t.Errorf("raw %q", e.Raw)
	}

	csvSum, csvSink := importFile(t, shareddata.Path(t, "loghub/OpenSSH/OpenSSH_2k.log_structured.csv"), Options{Location: time.UTC})
	if csvSum.Format != FormatCSV || csvSum.Events != 2000 {
		t.Fatalf("structured CSV: format %s, %d events, want csv, 2000", csvSum.Format, csvSum.Events)
	}
	for i := range s.events {
		row := &csvSink.events[i]
		if got, want := get(t, row, "LineId"), strconv.Itoa(i+1); got != want {
			t.Fatalf("CSV row %d: LineId %s", i+1, got)
		}
		msg := strings.TrimSpace(get(t, &s.events[i], "message"))
		if want := strings.TrimSpace(get(t, row, "Content")); msg != want {
			t.Errorf("line %d: syslog message %q, structured CSV Content %q", i+1, msg, want)
		}
		if got, want := get(t, &s.events[i], "pid"), get(t, row, "Pid"); got != want {
			t.Errorf("line %d: pid %q, CSV %q", i+1, got, want)
		}
	}
}

func TestLoghubCSV(t *testing.T) {
	t.Parallel()
	dir := shareddata.Dir(t)
	for _, name := range []string{"Linux", "OpenSSH", "Mac", "Apache", "Windows"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, "loghub", name, name+"_2k.log_structured.csv")
			sum, s := importFile(t, path, Options{Location: time.UTC})
			if sum.Format != FormatCSV || sum.Events != 2000 {
				t.Fatalf("format %s, %d events; want csv, 2000 rows", sum.Format, sum.Events)
			}
			for i := range s.events {
				if s.events[i].Flags.Has(event.FlagParseError) {
					t.Errorf("row %d flagged: %s (%q)", i+1, s.events[i].Reason, s.events[i].Raw)
				}
			}
		})
	}
	// Values read by hand. Linux row 1748 quotes a cell with commas.
	_, s := importFile(t, filepath.Join(dir, "loghub/Linux/Linux_2k.log_structured.csv"), Options{Location: time.UTC})
	e := &s.events[1747]
	if got := get(t, e, "Content"); got != "ANONYMOUS FTP LOGIN FROM 84.102.20.2,  (anonymous)" {
		t.Errorf("Linux row 1748 Content = %q", got)
	}
	if got := get(t, e, "EventTemplate"); got != "ANONYMOUS FTP LOGIN FROM <*>,  (anonymous)" {
		t.Errorf("Linux row 1748 EventTemplate = %q", got)
	}
	if _, ok := s.events[1909].Lookup("PID"); ok {
		t.Errorf("Linux row 1910: an empty cell became a field")
	}
	// Windows rows have a Date and a Time column: together they are the time.
	_, s = importFile(t, filepath.Join(dir, "loghub/Windows/Windows_2k.log_structured.csv"), Options{Location: time.UTC})
	if got, want := s.events[0].TimeOf(), time.Date(2016, 9, 28, 4, 30, 30, 0, time.UTC); !got.Equal(want) || s.events[0].Flags != 0 {
		t.Errorf("Windows row 1 time %s flags %v, want %s", got, s.events[0].Flags.Names(), want)
	}
	if got := get(t, &s.events[0], "Component"); got != "CBS" {
		t.Errorf("Windows row 1 Component %q", got)
	}
}

// zeekTypes reads the #fields and #types lines of a Zeek TSV log.
func zeekTypes(t *testing.T, path string) map[string]string {
	t.Helper()
	var fields, types []string
	for _, l := range strings.Split(string(readAll(t, path)), "\n") {
		if f, ok := strings.CutPrefix(l, "#fields\t"); ok {
			fields = strings.Split(f, "\t")
		}
		if f, ok := strings.CutPrefix(l, "#types\t"); ok {
			types = strings.Split(f, "\t")
		}
	}
	m := map[string]string{}
	for i := range fields {
		m[fields[i]] = types[i]
	}
	return m
}

// TestZeekWRCCDC reads every log of the WRCCDC set in both of Zeek's
// formats: as many events as data lines, and for the fields whose text is
// the same in both writers (strings, addresses, ports, counts, enums), the
// same values: the TSV unescaping agrees with Zeek's own JSON writer.
func TestZeekWRCCDC(t *testing.T) {
	t.Parallel()
	dir := shareddata.Dir(t)
	tsvs, err := filepath.Glob(filepath.Join(dir, "zeek-wrccdc-2018/zeek-default/*.log.gz"))
	if err != nil || len(tsvs) != 32 {
		t.Fatalf("want the 32 Zeek TSV logs, found %d (%v)", len(tsvs), err)
	}
	var total int64
	for _, tsv := range tsvs {
		name := strings.TrimSuffix(filepath.Base(tsv), ".log.gz")
		t.Run(name, func(t *testing.T) {
			if fi, err := os.Stat(tsv); testing.Short() && err == nil && fi.Size() > 100<<10 {
				t.Skip("large; not with -short")
			}
			types := zeekTypes(t, tsv)
			ts := &zeekSink{types: types}
			js := &zeekSink{types: types}
			tsum, err := Import(context.Background(), tsv, ts, Options{})
			if err != nil {
				t.Fatal(err)
			}
			jsum, err := Import(context.Background(), filepath.Join(dir, "zeek-wrccdc-2018/zeek-json", name+".json.gz"), js, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tsum.Format != FormatZeek || jsum.Format != FormatZeekJSON {
				t.Fatalf("formats %s, %s", tsum.Format, jsum.Format)
			}
			want := len(lines(t, tsv, true))
			if tsum.Events != int64(want) || jsum.Events != int64(want) || len(ts.got) != want || len(js.got) != want {
				t.Fatalf("TSV %d events, JSON %d, data lines %d", tsum.Events, jsum.Events, want)
			}
			total += tsum.Events
			for i := range ts.got {
				te, je := &ts.got[i], &js.got[i]
				if te.log != (event.LogSource{Product: "zeek", Service: name}) || je.log != te.log {
					t.Fatalf("event %d: logsource TSV %+v JSON %+v", i, te.log, je.log)
				}
				if te.time != je.time && types["ts"] != "" {
					t.Fatalf("event %d: time TSV %d JSON %d", i, te.time, je.time)
				}
				if te.flags&^event.FlagNoTime != 0 || te.flags.Has(event.FlagNoTime) && types["ts"] != "" {
					t.Fatalf("event %d flagged %v", i, te.flags.Names())
				}
				if te.fields != je.fields {
					t.Fatalf("event %d fields differ:\nTSV  %q\nJSON %q", i, te.fields, je.fields)
				}
			}
		})
	}
	if total != 158_439 && !testing.Short() {
		t.Errorf("%d records in all, SOURCES.md counts 158,439", total)
	}
}

// zeekSink keeps of each event what TestZeekWRCCDC compares: the fields
// whose text both of Zeek's writers write alike (strings, addresses, ports,
// counts, enums), sorted, empty ones left out (Zeek's JSON omits them).
type zeekSink struct {
	types map[string]string
	got   []zeekEvent
}

type zeekEvent struct {
	log    event.LogSource
	time   int64
	flags  event.Flag
	fields string
}

func (s *zeekSink) Append(_ context.Context, evs []event.Event) error {
	var kv []string
	for i := range evs {
		e := &evs[i]
		kv = kv[:0]
		for _, f := range e.Fields {
			switch s.types[f.Name()] {
			case "string", "addr", "port", "count", "enum", "int", "subnet":
				if f.Value != "" {
					kv = append(kv, f.Name()+"="+f.Value)
				}
			}
		}
		sort.Strings(kv)
		s.got = append(s.got, zeekEvent{e.Log, e.Time, e.Flags, strings.Join(kv, "\x00")})
	}
	return nil
}

// TestZeekValues checks values read by hand from the WRCCDC logs.
func TestZeekValues(t *testing.T) {
	t.Parallel()
	_, s := importFile(t, shareddata.Path(t, "zeek-wrccdc-2018/zeek-default/dns.log.gz"), Options{})
	e := &s.events[0]
	if e.Time != 1521911720_865716000 || get(t, e, "uid") != "CqKst53mF3det3eDV9" || get(t, e, "query") != "ise.wrccdc.org" ||
		get(t, e, "answers") != "ise.wrccdc.cpp.edu,134.71.3.16" || get(t, e, "id.orig_h") != "10.47.1.100" {
		t.Errorf("dns record 1: time %d fields %v", e.Time, e.Fields)
	}
	// The last record's rtt is unset ("-"): no field.
	last := &s.events[len(s.events)-1]
	if _, ok := last.Lookup("rtt"); ok || get(t, last, "query") != "talk.google.com" || get(t, last, "uid") != "Cmc5423NLYRkHDxYDi" {
		t.Errorf("dns last record: %v", last.Fields)
	}
	_, s = importFile(t, shareddata.Path(t, "zeek-wrccdc-2018/zeek-default/smb_mapping.log.gz"), Options{})
	if got := get(t, &s.events[0], "path"); got != `\\10.47.21.25\ADMIN$` {
		t.Errorf("smb_mapping path %q", got)
	}
	_, s = importFile(t, shareddata.Path(t, "zeek-wrccdc-2018/zeek-default/ntp.log.gz"), Options{})
	if got := get(t, &s.events[0], "ref_id"); got != `\x00\x00\x00\x00` {
		t.Errorf("ntp ref_id %q: control bytes stay escaped", got)
	}
	_, s = importFile(t, shareddata.Path(t, "zeek-wrccdc-2018/zeek-default/analyzer.log.gz"), Options{})
	if got := get(t, &s.events[0], "failure_reason"); !strings.Contains(got, "rdp-protocol.pac:81: \nexpected pattern: \"Cookie: mstshash\\=\"\nactual data: \"\\x01\"") {
		t.Errorf("analyzer failure_reason %q", got)
	}
}

func TestZeekAPT29(t *testing.T) {
	t.Parallel()
	dir := shareddata.Path(t, "zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs")
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) < 20 {
		t.Fatalf("found %d APT29 Zeek logs", len(logs))
	}
	for _, p := range logs {
		sum, s := importFile(t, p, Options{})
		if want := len(lines(t, p, false)); sum.Format != FormatZeekJSON || sum.Events != int64(want) || sum.Flagged != 0 {
			t.Errorf("%s: %s, %d events (%d flagged), want zeek-json, %d unflagged", p, sum.Format, sum.Events, sum.Flagged, want)
		}
		// The service is "@stream", the file name agrees ("NASHUA_conn.log").
		if want := strings.SplitN(strings.TrimSuffix(filepath.Base(p), ".log"), "_", 2)[1]; s.events[0].Log.Service != want {
			t.Errorf("%s: service %q, want %q", p, s.events[0].Log.Service, want)
		}
	}
	_, s := importFile(t, filepath.Join(dir, "NASHUA_conn.log"), Options{})
	e := &s.events[0]
	if e.Time != 1588205199_824370000 || get(t, e, "uid") != "Cvf4XX17hSAgXDdGEd" || get(t, e, "id_resp_p") != "53" || get(t, e, "@system") != "bobs.bigwheel.local" {
		t.Errorf("NASHUA conn record 1: time %d fields %v", e.Time, e.Fields)
	}
	// Without "@stream", the file name says the service.
	p := writeFile(t, "NASHUA_smb_files.log", []byte(`{"ts":1588205199.8,"uid":"C1","id_orig_h":"10.0.0.1"}`+"\n"), time.Time{})
	if _, s := importFile(t, p, Options{}); s.events[0].Log.Service != "smb_files" {
		t.Errorf("service from the file name: %q", s.events[0].Log.Service)
	}
}

func TestSuricata(t *testing.T) {
	t.Parallel()
	sum, s := importFile(t, shareddata.Path(t, "suricata-eve/surevego/testdata/eve.json"), Options{})
	if sum.Format != FormatSuricata || sum.Events != 266 || sum.Flagged != 0 {
		t.Fatalf("eve.json: %s, %d events, %d flagged; want suricata, 266, 0", sum.Format, sum.Events, sum.Flagged)
	}
	types := map[string]int{}
	for i := range s.events {
		if s.events[i].Log.Product != "suricata" {
			t.Fatalf("event %d product %q", i, s.events[i].Log.Product)
		}
		types[get(t, &s.events[i], "event_type")]++
	}
	want := map[string]int{"alert": 68, "http": 68, "fileinfo": 68, "dns": 48, "flow": 13, "stats": 1}
	for k, n := range want {
		if types[k] != n {
			t.Errorf("event_type %s: %d events, SOURCES.md counts %d", k, types[k], n)
		}
	}
	e := &s.events[0]
	if !e.TimeOf().Equal(time.Date(2017, 1, 30, 15, 12, 26, 985026000, time.UTC)) || get(t, e, "dns.rrname") != "_http._tcp.security.debian.org" || get(t, e, "src_ip") != "172.17.0.2" {
		t.Errorf("eve.json line 1: %s %v", e.TimeOf(), e.Fields)
	}

	// The broken copy: every non-blank line is an event; the lines that
	// are not JSON objects are flagged parse errors and keep their text.
	path := shareddata.Path(t, "suricata-eve/surevego/testdata/eve_broken.json")
	sum, s = importFile(t, path, Options{})
	ls := lines(t, path, false)
	if sum.Format != FormatSuricata || sum.Events != int64(len(ls)) {
		t.Fatalf("eve_broken.json: %s, %d events, want suricata, %d", sum.Format, sum.Events, len(ls))
	}
	for i, l := range ls {
		l = strings.TrimSpace(l)
		bad := !json.Valid([]byte(l)) || l[0] != '{'
		e := &s.events[i]
		if e.Flags.Has(event.FlagParseError) != bad {
			t.Errorf("line %q: flags %v (%s), invalid JSON object: %v", l, e.Flags.Names(), e.Reason, bad)
		}
		if bad && get(t, e, "message") != l {
			t.Errorf("unparsed line %q kept as %q", l, get(t, e, "message"))
		}
	}

	sum, s = importFile(t, shareddata.Path(t, "suricata-eve/elastic-integrations/test-eve-small.log"), Options{})
	if sum.Events != 12 || sum.Flagged != 0 {
		t.Fatalf("test-eve-small.log: %d events, %d flagged", sum.Events, sum.Flagged)
	}
	if got := get(t, &s.events[1], "alert.signature"); got != "ET POLICY Observed IP Lookup Domain (l2 .io in TLS SNI)" {
		t.Errorf("line 2 alert.signature %q", got)
	}
	if got := get(t, &s.events[11], "tls.ja3.hash"); got != "44d502d471cfdb99c59bdfb0f220e5a8" {
		t.Errorf("line 12 tls.ja3.hash %q", got)
	}
}

// evtxRendering is what the SigmaHQ regression .json files hold per record.
type evtxRendering struct {
	Event struct {
		System struct {
			EventID       json.Number
			EventRecordID json.Number
			Channel       string
			Computer      string
			TimeCreated   struct {
				Attributes struct{ SystemTime string } `json:"#attributes"`
			}
		}
		EventData map[string]any
	}
}

// TestEVTXRegression imports every EVTX file of SigmaHQ's regression data:
// as many events as the .json rendering beside it has records, with its
// record ids, event ids, channels, computers and times, and raw bytes that
// are a JSON object of the event's fields.
func TestEVTXRegression(t *testing.T) {
	t.Parallel()
	var files []string
	root := shareddata.Path(t, "sigma/regression_data")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".evtx") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 150 {
		t.Fatalf("found %d EVTX files (%v)", len(files), err)
	}
	var events int
	for _, p := range files {
		sum, s := importFile(t, p, Options{})
		var want []evtxRendering
		dec := json.NewDecoder(bytes.NewReader(readAll(t, strings.TrimSuffix(p, ".evtx")+".json")))
		dec.UseNumber()
		for {
			var r evtxRendering
			if err := dec.Decode(&r); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: rendering: %v", p, err)
			}
			want = append(want, r)
		}
		if sum.Format != FormatEVTX || len(s.events) != len(want) || len(sum.Warnings) != 0 {
			t.Fatalf("%s: %s, %d events, %d warnings; the rendering has %d records", p, sum.Format, len(s.events), len(sum.Warnings), len(want))
		}
		events += len(s.events)
		for i, w := range want {
			e := &s.events[i]
			sys := w.Event.System
			wt, err := time.Parse(time.RFC3339Nano, sys.TimeCreated.Attributes.SystemTime)
			if err != nil {
				t.Fatal(err)
			}
			if e.Log.Product != "windows" || get(t, e, "EventID") != sys.EventID.String() || get(t, e, "EventRecordID") != sys.EventRecordID.String() ||
				get(t, e, "Channel") != sys.Channel || e.Host != sys.Computer || e.TimeOf().Sub(wt).Abs() > time.Second || e.Flags != 0 {
				t.Errorf("%s record %d: product %q host %q time %s flags %v; want %+v", p, i, e.Log.Product, e.Host, e.TimeOf(), e.Flags.Names(), sys)
			}
			for k, v := range w.Event.EventData {
				if s, ok := v.(string); ok && s != "" {
					if got, _ := e.Lookup(k); got != s {
						t.Errorf("%s record %d: %s = %q, rendering %q", p, i, k, got, s)
					}
				}
			}
			var raw map[string]string
			if err := json.Unmarshal(e.Raw, &raw); err != nil || len(raw) != len(e.Fields) {
				t.Fatalf("%s record %d: raw %q is not a JSON object of the %d fields: %v", p, i, e.Raw, len(e.Fields), err)
			}
			for _, f := range e.Fields {
				if raw[f.Name()] != f.Value {
					t.Errorf("%s record %d: raw %s = %q, field %q", p, i, f.Name(), raw[f.Name()], f.Value)
				}
			}
		}
	}
	t.Logf("%d EVTX files, %d events", len(files), events)
}

// TestEVTXGzip: a compressed EVTX file gives the same events and ids as the
// file itself.
func TestEVTXGzip(t *testing.T) {
	t.Parallel()
	src := shareddata.Path(t, "evtx-attack-samples")
	var evtxFile string
	_ = filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && evtxFile == "" && strings.HasSuffix(p, ".evtx") {
			if fi, _ := d.Info(); fi != nil && fi.Size() > 1<<20 {
				evtxFile = p
			}
		}
		return nil
	})
	if evtxFile == "" {
		t.Fatal("no EVTX file over 1 MB in evtx-attack-samples")
	}
	data := readAll(t, evtxFile)
	dir := t.TempDir()
	plain := filepath.Join(dir, "x.evtx")
	if err := os.WriteFile(plain, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	_, _ = z.Write(data)
	_ = z.Close()
	if err := os.WriteFile(plain+".gz", gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var progress int
	a, as := importFile(t, plain, Options{Progress: func(int64, int64) { progress++ }})
	b, bs := importFile(t, plain+".gz", Options{})
	if a.Events == 0 || a.Events != b.Events || b.Format != FormatEVTX || a.Bytes != int64(len(data)) || b.Bytes != int64(gz.Len()) {
		t.Fatalf("plain: %d events %d bytes; gzip: %s %d events %d bytes (file sizes %d, %d)", a.Events, a.Bytes, b.Format, b.Events, b.Bytes, len(data), gz.Len())
	}
	for i := range as.events {
		if as.events[i].ID != bs.events[i].ID {
			t.Fatalf("event %d: id %s plain, %s gzip", i, as.events[i].ID, bs.events[i].ID)
		}
	}
	if progress == 0 {
		t.Error("Progress was never called")
	}
	t.Logf("%s: %d events", evtxFile, a.Events)
}
