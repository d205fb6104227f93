// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/journal"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// journaled calls fn for every event in dataDir's journal and returns
// their number.
func journaled(t *testing.T, dataDir string, fn func(*event.Event)) int {
	t.Helper()
	j, err := journal.Open(filepath.Join(dataDir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r, err := j.Reader("importtest")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		// Everything is written before the command returns: a pause with
		// nothing new is the end.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		evs, _, err := r.Next(ctx, 10_000)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if fn != nil {
				fn(&evs[i])
			}
			n++
		}
	}
}

var totalLine = regexp.MustCompile(`(\d+) file\(s\) read, (\d+) event\(s\) journaled \((\d+) flagged\), (\d+) line\(s\) skipped`)

// totals parses the summary's last line.
func totals(t *testing.T, out string) (files, events int) {
	t.Helper()
	m := totalLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no totals line in:\n%s", out)
	}
	files, _ = strconv.Atoi(m[1])
	events, _ = strconv.Atoi(m[2])
	return files, events
}

// TestImportSamples imports the loghub, Zeek and Suricata samples into a
// fresh data directory: the summary lists every file, and the journal holds
// every event it counts, per file.
func TestImportSamples(t *testing.T) {
	t.Parallel()
	data := shareddata.Dir(t)
	dir := t.TempDir()
	args := []string{"import",
		filepath.Join(data, "loghub"),
		filepath.Join(data, "zeek-wrccdc-2018", "zeek-default"),
		filepath.Join(data, "zeek-otrf-apt29/datasets/compound/apt29/day1/zeek/individual_zeek_logs"),
		filepath.Join(data, "suricata-eve"),
	}
	out, errOut, err := run(t, dir, args...)
	if err != nil {
		t.Fatalf("koban import: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	t.Logf("summary:\n%s", out)
	files, events := totals(t, out)
	// Per file: its row in the table and its line on stderr.
	rows := regexp.MustCompile(`(?m)^(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+$`).FindAllStringSubmatch(out, -1)
	perSource := map[string]int{}
	formats := map[string]string{}
	sum := 0
	for _, r := range rows { // neither the header nor TOTAL match
		n, _ := strconv.Atoi(r[3])
		perSource["import:"+filepath.Base(r[1])] += n
		formats[filepath.Base(r[1])] = r[2]
		sum += n
		if !strings.Contains(errOut, "imported  "+r[1]+": "+r[2]) {
			t.Errorf("no progress line for %s on stderr", r[1])
		}
	}
	if len(rows) != files || sum != events {
		t.Errorf("table: %d rows with %d events; totals say %d files, %d events", len(rows), sum, files, events)
	}
	for name, want := range map[string]string{
		"OpenSSH_2k.log": "syslog", "Linux_2k.log_structured.csv": "csv", "dns.log.gz": "zeek",
		"NASHUA_conn.log": "zeek-json", "eve.json": "suricata", "eve_broken.json": "suricata",
	} {
		if formats[name] != want {
			t.Errorf("%s: format %q, want %q", name, formats[name], want)
		}
	}
	if perSource["import:dns.log.gz"] != 53_615 || perSource["import:eve.json"] != 266 || perSource["import:OpenSSH_2k.log"] != 2000 {
		t.Errorf("events: dns.log.gz %d (want 53,615), eve.json %d (266), OpenSSH_2k.log %d (2000)",
			perSource["import:dns.log.gz"], perSource["import:eve.json"], perSource["import:OpenSSH_2k.log"])
	}

	got := map[string]int{}
	ids := map[event.ID]bool{}
	var product string
	n := journaled(t, dir, func(e *event.Event) {
		got[e.Source]++
		ids[e.ID] = true
		if e.Source == "import:dns.log.gz" && e.Log.Product != "zeek" {
			product = e.Log.Product
		}
	})
	if n != events {
		t.Fatalf("the journal holds %d events, the summary says %d", n, events)
	}
	if product != "" {
		t.Errorf("a Zeek event normalised to product %q", product)
	}
	for src, n := range perSource {
		if got[src] != n {
			t.Errorf("source %s: %d events in the journal, %d in the summary", src, got[src], n)
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct ids for %d events", len(ids), n)
	}
}

// TestImportDirectoryWithBadFiles: good files are imported, the others are
// named at the end, and the exit status says something failed.
func TestImportDirectoryWithBadFiles(t *testing.T) {
	t.Parallel()
	in := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(in, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a-good.log", "Oct 11 22:14:15 web01 sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\nnot syslog at all\n")
	write("b-binary.dat", "\x00\x01\x02\x03 not text")
	write(".hidden.log", "Oct 11 22:14:15 web01 app: hidden\n")
	if err := os.Mkdir(filepath.Join(in, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("sub/c.json", `[{"user":"alice","time":"2024-01-05T09:03:00Z"}, 42]`)
	missing := filepath.Join(in, "missing.log")

	dir := t.TempDir()
	out, errOut, err := run(t, dir, "import", "--source", "lab", in, missing)
	if err == nil || !strings.Contains(err.Error(), "2 path(s) could not be imported") || ExitCode(err, &strings.Builder{}) != 1 {
		t.Fatalf("err = %v, want 2 paths not imported (exit 1)\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	files, events := totals(t, out)
	if files != 2 || events != 4 {
		t.Errorf("%d files, %d events; want 2 files (a-good.log, sub/c.json), 4 events\n%s", files, events, out)
	}
	for _, want := range []string{"Not imported (2):", "b-binary.dat: unknown format", "missing.log: no such file"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "hidden") {
		t.Errorf("a hidden file was imported:\n%s", out)
	}
	flagged := 0
	n := journaled(t, dir, func(e *event.Event) {
		if e.Source != "lab" {
			t.Errorf("source %q, want lab", e.Source)
		}
		if e.Flags.Has(event.FlagParseError) {
			flagged++
		}
	})
	if n != 4 {
		t.Fatalf("journal holds %d events, want 4", n)
	}
	if flagged != 2 {
		t.Errorf("%d events flagged as parse errors, want 2 (the non-syslog line and the 42)", flagged)
	}
}

func TestImportUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "name at least one file or directory"},
		{[]string{"import", "--format", "xml", "x.log"}, `unknown --format "xml"`},
	} {
		_, errOut, err := run(t, dir, c.args...)
		if !errors.Is(err, ErrUsage) || !strings.Contains(errOut, c.want) {
			t.Errorf("koban %v: %v, stderr %q; want a usage error saying %q", c.args, err, errOut, c.want)
		}
	}
	// A file given with --format is read as that format, whatever it looks like.
	in := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(in, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, dir, "import", "--format", "syslog", in)
	if err != nil || !strings.Contains(out, "syslog") {
		t.Fatalf("--format syslog: %v\n%s", err, out)
	}
	if _, events := totals(t, out); events != 2 {
		t.Errorf("--format syslog: %d events, want 2 lines", events)
	}
}

// TestImportInterrupt stops an import with SIGINT while it reads a pipe that
// never ends: the summary reports what the journal holds.
func TestImportInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(t.TempDir(), "endless.log")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	cmd := exec.Command(os.Args[0], "import", fifo)
	cmd.Env = append(os.Environ(), "KOBAN_TEST_AS_PROGRAM=1", "KOBAN_DATA_DIR="+dir, "KOBAN_LOG_FORMAT=json")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("Oct 11 22:14:15 web01 sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n")
	const signalAfter = 50_000 // lines written before the interrupt
	for i := 0; ; i++ {
		if i == signalAfter {
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Write(line); err != nil {
			break // the reader is gone
		}
	}
	w.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out.String(), "Interrupted") {
		t.Fatalf("exit %v, want 1 with \"Interrupted\"\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	_, events := totals(t, out.String())
	if got := journaled(t, dir, nil); got != events {
		t.Errorf("the journal holds %d events, the summary says %d", got, events)
	}
	t.Logf("interrupted after %d events", events)
}
