// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/reportdesk"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// discardStage reads a file to its end, up to max bytes, as the content
// store would, and remembers its name.
func discardStage(max int64) stageFunc {
	return func(_ context.Context, name string, r io.Reader) (reportdesk.Attachment, error) {
		n, err := io.Copy(io.Discard, io.LimitReader(r, max+1))
		switch {
		case err != nil:
			return reportdesk.Attachment{}, err
		case n > max:
			return reportdesk.Attachment{}, fault.InvalidField("attachment", "reportdesk.file_too_large")
		}
		return reportdesk.Attachment{Name: name, Size: n}, nil
	}
}

func TestReadReportForm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	body, ct := multipartBody(t, url.Values{"kind": {"other"}, "what": {"a\r\nb"}, "where": {"desk"}, "unknown": {"x"}},
		file{"a.eml", "mail"}, file{"b.png", "png"})
	f, staged, err := readReportForm(ctx, strings.NewReader(body), ct, 2, discardStage(100))
	if err != nil || f.Kind != "other" || f.What != "a\r\nb" || f.Where != "desk" || len(staged) != 2 || staged[1].Name != "b.png" {
		t.Errorf("readReportForm = %+v, %+v, %v", f, staged, err)
	}
	for name, tc := range map[string]struct {
		body, ct string
		max      int
		kind     fault.Kind
		msg      string
	}{
		"not multipart":  {"kind=other", "application/x-www-form-urlencoded", 2, fault.Invalid, "reportdesk.malformed"},
		"no boundary":    {body, "multipart/form-data", 2, fault.Invalid, "reportdesk.malformed"},
		"bad type":       {body, "multipart/form-data; boundary=\"", 2, fault.Invalid, "reportdesk.malformed"},
		"truncated":      {body[:len(body)/2], ct, 2, fault.Invalid, "reportdesk.malformed"},
		"too many files": {body, ct, 1, fault.Invalid, "reportdesk.too_many_files"},
	} {
		_, _, err := readReportForm(ctx, strings.NewReader(tc.body), tc.ct, tc.max, discardStage(100))
		wantFaultMsg(t, "readReportForm("+name+")", err, tc.kind, tc.msg)
	}
	long, lct := multipartBody(t, url.Values{"what": {strings.Repeat("x", maxReportField+1)}})
	_, _, err = readReportForm(ctx, strings.NewReader(long), lct, 2, discardStage(100))
	wantFaultMsg(t, "readReportForm(field too long)", err, fault.Invalid, "reportdesk.too_long")
	many := url.Values{}
	for i := range maxReportParts + 1 {
		many.Set("f"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "v")
	}
	mb, mct := multipartBody(t, many)
	_, _, err = readReportForm(ctx, strings.NewReader(mb), mct, 2, discardStage(100))
	wantFaultMsg(t, "readReportForm(too many parts)", err, fault.Invalid, "reportdesk.malformed")
	// The body limit cuts a file short: TooLarge about the attachments.
	big, bct := multipartBody(t, url.Values{"what": {"x"}}, file{"big.bin", strings.Repeat("y", 4096)})
	rec := httptest.NewRecorder()
	lim := http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(big)), 1024)
	_, _, err = readReportForm(ctx, lim, bct, 2, discardStage(1<<20))
	wantFaultMsg(t, "readReportForm(over the body limit)", err, fault.TooLarge, "reportdesk.body_too_large")
}

func wantFaultMsg(t *testing.T, call string, err error, kind fault.Kind, msg string) {
	t.Helper()
	fs := fault.Faults(err)
	if len(fs) == 0 || fs[0].Kind != kind || fs[0].Msg != msg {
		t.Errorf("%s: got %v, want %s %s", call, err, kind, msg)
	}
}

// FuzzReadReportForm feeds arbitrary bodies to the report form's
// multipart reader: it must never panic, never stage more files than
// allowed, and either fail with a fault or return what it read.
func FuzzReadReportForm(f *testing.F) {
	const boundary = "kobanboundary"
	ct := "multipart/form-data; boundary=" + boundary
	seed := func(fields url.Values, files ...file) {
		var b bytes.Buffer
		w := newMultipart(&b, boundary)
		for k, vs := range fields {
			for _, v := range vs {
				_ = w.WriteField(k, v)
			}
		}
		for _, fl := range files {
			fw, _ := w.CreateFormFile("attachment", fl.name)
			_, _ = fw.Write([]byte(fl.content))
		}
		_ = w.Close()
		f.Add(b.Bytes())
	}
	seed(phishingFields("Fake invoice <script>x</script>"), file{"invoice.eml", deskEML})
	seed(url.Values{"kind": {"lost_device"}, "what": {"電車でスマホを紛失"}})
	seed(url.Values{"what": {""}}, file{"", ""}, file{"../../etc/passwd", "x"})
	// A real binary file as an attachment, cut to a seed's size.
	if raw, err := os.ReadFile(shareddata.Path(f, "evtx-attack-samples/Defense Evasion/DE_Powershell_CLM_Disabled_Sysmon_12.evtx")); err == nil {
		seed(url.Values{"kind": {"strange_behavior"}, "what": {"log attached"}}, file{"sysmon.evtx", string(raw[:min(len(raw), 8192)])})
	} else {
		f.Fatal(err)
	}
	f.Add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"what\"\r\n\r\nunterminated"))
	f.Fuzz(func(t *testing.T, body []byte) {
		const maxFiles = 3
		form, staged, err := readReportForm(context.Background(), bytes.NewReader(body), ct, maxFiles, discardStage(1<<12))
		if len(staged) > maxFiles {
			t.Fatalf("staged %d files, max %d", len(staged), maxFiles)
		}
		if err != nil && len(fault.Faults(err)) == 0 {
			t.Fatalf("error is not a fault: %v", err)
		}
		for _, v := range []string{form.Kind, form.What, form.When, form.Where, form.Contact} {
			if len(v) > maxReportField {
				t.Fatalf("field of %d bytes, max %d", len(v), maxReportField)
			}
		}
	})
}

// newMultipart is a multipart writer with a fixed boundary.
func newMultipart(w io.Writer, boundary string) *multipart.Writer {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		panic(err) // a constant of this file
	}
	return mw
}

// TestEndSeen finds the closing delimiter however the reads split it.
func TestEndSeen(t *testing.T) {
	t.Parallel()
	const body = "--b\r\nContent-Disposition: form-data; name=\"what\"\r\n\r\nx\r\n--b--\r\n"
	for size := 1; size <= len(body); size++ {
		for _, tc := range []struct {
			body string
			want bool
		}{{body, true}, {body[:len(body)-4], false}, {strings.Replace(body, "--b--", "--b-", 1), false}} {
			e := &endSeen{r: iotestOneByOne(tc.body, size), delim: []byte("--b--")}
			if _, err := io.Copy(io.Discard, e); err != nil {
				t.Fatal(err)
			}
			if e.seen != tc.want {
				t.Errorf("endSeen(%q, reads of %d): %v, want %v", tc.body, size, e.seen, tc.want)
			}
		}
	}
}

// iotestOneByOne reads s in pieces of at most n bytes.
func iotestOneByOne(s string, n int) io.Reader {
	return &pieces{s: s, n: n}
}

type pieces struct {
	s string
	n int
}

func (p *pieces) Read(b []byte) (int, error) {
	if p.s == "" {
		return 0, io.EOF
	}
	k := copy(b[:min(len(b), p.n)], p.s)
	p.s = p.s[k:]
	return k, nil
}
