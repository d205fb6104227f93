// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

var _ = addRouteRules(map[string]rule{
	"GET /incidents/{ref}/evidence":                 {Session, analysts},
	"POST /incidents/{ref}/evidence":                {Session, analysts},
	"GET /incidents/{ref}/evidence/{id}":            {Session, analysts},
	"GET /incidents/{ref}/evidence/{id}/download":   {Session, analysts},
	"POST /incidents/{ref}/evidence/{id}/transfer":  {Session, analysts},
	"POST /incidents/{ref}/evidence/{id}/annotate":  {Session, analysts},
	"POST /incidents/{ref}/evidence/{id}/hold":      {Session, analysts},
	"POST /incidents/{ref}/evidence/{id}/retention": {Session, analysts},
	"POST /incidents/{ref}/evidence/{id}/verify":    {Session, analysts},
	"POST /incidents/{ref}/evidence/{id}/dispose":   {Session, analysts},
})

// upload sends the upload form: the text fields, then the file (none when
// name is "").
func (w *workEnv) upload(ref, name string, content []byte, fields map[string]string) (*http.Response, string) {
	w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range []string{"description", "collected_from", "collected_at", "collected_by"} {
		if v, ok := fields[k]; ok {
			if err := mw.WriteField(k, v); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	if name != "" || content != nil {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			w.t.Fatal(err)
		}
		if _, err := fw.Write(content); err != nil {
			w.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		w.t.Fatal(err)
	}
	resp := w.do(req{method: http.MethodPost, path: "/incidents/" + ref + "/evidence", body: buf.String(), session: w.cookie,
		header: map[string]string{"Content-Type": mw.FormDataContentType()}})
	return resp, bodyOf(w.t, resp)
}

// blobFiles counts the regular files under the blob directory.
func (w *workEnv) blobFiles() int {
	w.t.Helper()
	n := 0
	err := filepath.WalkDir(w.blobDir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func TestEvidenceUploadDownload(t *testing.T) {
	w := newWorkEnv(t, 1<<20)
	inc := w.create("Suspicious mail", incident.TypePhishing)
	content := []byte("Received: from evil.example\r\nSubject: =?UTF-8?B?6KuL5rGC5pu4?=\r\n\r\n<script>alert(1)</script>\r\n")
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	name := "請求書 \"2026\".eml"

	resp, body := w.upload(inc.Ref, name, content, map[string]string{"description": "<script>alert('d')</script>",
		"collected_from": "PC-023", "collected_at": "2026-11-22T09:00", "collected_by": "Sato"})
	wantStatus(t, "upload", resp, body, http.StatusSeeOther)
	items, err := w.locker.List(context.Background(), inc.ID)
	if err != nil || len(items) != 1 {
		t.Fatalf("List = %d items, %v", len(items), err)
	}
	e := items[0]
	if e.SHA256 != hash || e.Size != int64(len(content)) || e.CollectedBy != "Sato" || e.CollectedFrom != "PC-023" ||
		!e.CollectedAt.Equal(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("stored item = %+v, want SHA-256 %s", e, hash)
	}
	item := "/incidents/" + inc.Ref + "/evidence/" + strconv.FormatInt(e.ID, 10)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, item) {
		t.Errorf("upload redirects to %q, want the item's page", loc)
	}

	_, list := w.get("/incidents/" + inc.Ref + "/evidence")
	for _, want := range []string{hash, "&lt;script&gt;alert(&#39;d&#39;)&lt;/script&gt;", htmlText(e.Name)} {
		if !strings.Contains(list, want) {
			t.Errorf("evidence list lacks %q", want)
		}
	}
	if strings.Contains(list, "<script>alert('d')") {
		t.Error("the description's HTML is not escaped")
	}

	resp = w.do(req{path: item + "/download", session: w.cookie})
	got := bodyOf(t, resp)
	wantStatus(t, "download", resp, got, http.StatusOK)
	if got != string(content) {
		t.Errorf("downloaded %q, want %q", got, content)
	}
	h := resp.Header
	if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("Content-Length") != strconv.Itoa(len(content)) {
		t.Errorf("download headers = %v", h)
	}
	disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != e.Name || !strings.Contains(h.Get("Content-Disposition"), "filename*=UTF-8''") {
		t.Errorf("Content-Disposition %q (%v): want an attachment named %q", h.Get("Content-Disposition"), err, e.Name)
	}

	_, detail := w.get(item)
	for _, want := range []string{hash, e.SHA1, e.MD5, "Downloaded", "Collected", "Uploaded", "PC-023"} {
		if !strings.Contains(detail, want) {
			t.Errorf("item page lacks %q", want)
		}
	}
	cs, err := w.locker.Custody(context.Background(), e.ID)
	if err != nil || len(cs) == 0 || cs[len(cs)-1].Action != incident.CustodyDownloaded || cs[len(cs)-1].Actor != w.resp.Name {
		t.Errorf("custody = %+v, %v: want the download last, by %s", cs, err, w.resp.Name)
	}
}

func TestEvidenceUploadRefused(t *testing.T) {
	const max = 1024
	w := newWorkEnv(t, max)
	inc := w.create("Big file", incident.TypeMalware)

	resp, body := w.upload(inc.Ref, "big.bin", bytes.Repeat([]byte{'x'}, max+1), map[string]string{"description": "kept typed"})
	wantStatus(t, "oversized", resp, body, http.StatusRequestEntityTooLarge)
	if !strings.Contains(body, "larger than the limit of 1 KiB") || !strings.Contains(body, "kept typed") {
		t.Errorf("oversized: message or typed text missing:\n%s", body)
	}
	resp, body = w.upload(inc.Ref, "empty.txt", []byte{}, nil)
	wantStatus(t, "empty", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "The file is empty") {
		t.Errorf("empty: message missing:\n%s", body)
	}
	resp, body = w.upload(inc.Ref, "", nil, map[string]string{"description": "no file"})
	wantStatus(t, "no file", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "Choose a file to upload.") {
		t.Errorf("no file: message missing:\n%s", body)
	}
	resp, body = w.upload(inc.Ref, "f.txt", []byte("x"), map[string]string{"collected_at": "2026-11-23T09:00"})
	wantStatus(t, "collected in the future", resp, body, http.StatusBadRequest)
	resp, body = w.post("/incidents/"+inc.Ref+"/evidence", url.Values{"description": {"not multipart"}})
	wantStatus(t, "url-encoded", resp, body, http.StatusBadRequest)

	if items, err := w.locker.List(context.Background(), inc.ID); err != nil || len(items) != 0 {
		t.Errorf("after refused uploads: %d items, %v", len(items), err)
	}
	if n := w.blobFiles(); n != 0 {
		t.Errorf("after refused uploads: %d files in the blob store", n)
	}
}

func TestEvidenceOtherIncidentAndViewer(t *testing.T) {
	w := newWorkEnv(t, 0)
	mine := w.create("Mine", incident.TypeMalware)
	theirs := w.create("Theirs", incident.TypeMalware)
	e, err := w.locker.AddEvidence(context.Background(), w.actor(), theirs.ID, incident.EvidenceMeta{Name: "x.log"}, strings.NewReader("log line"))
	if err != nil {
		t.Fatal(err)
	}
	wrong := "/incidents/" + mine.Ref + "/evidence/" + strconv.FormatInt(e.ID, 10)
	for _, path := range []string{wrong, wrong + "/download", "/incidents/" + mine.Ref + "/evidence/999"} {
		resp, body := w.get(path)
		wantStatus(t, "GET "+path, resp, body, http.StatusNotFound)
	}
	resp, body := w.post(wrong+"/hold", url.Values{"reason": {"lawsuit"}})
	wantStatus(t, "hold through the wrong incident", resp, body, http.StatusNotFound)
	if cs, _ := w.locker.Custody(context.Background(), e.ID); len(cs) != 2 {
		t.Errorf("custody after refused requests has %d entries, want collected and uploaded only", len(cs))
	}

	w.user("view1", "viewer")
	right := "/incidents/" + theirs.Ref + "/evidence/" + strconv.FormatInt(e.ID, 10)
	for _, path := range []string{"/incidents/" + theirs.Ref + "/evidence", right, right + "/download"} {
		if resp := w.do(req{path: path, session: w.session("view1")}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer GET %s: status %d, want 403", path, resp.StatusCode)
		}
	}
}

func TestEvidenceCustodyForms(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Leak", incident.TypeDataLeak)
	e, err := w.locker.AddEvidence(context.Background(), w.actor(), inc.ID, incident.EvidenceMeta{Name: "dump.csv"}, strings.NewReader("a,b\n"))
	if err != nil {
		t.Fatal(err)
	}
	item := "/incidents/" + inc.Ref + "/evidence/" + strconv.FormatInt(e.ID, 10)
	steps := []struct {
		what, path string
		form       url.Values
		status     int
		want       string // in the page that follows
	}{
		{"transfer", "/transfer", url.Values{"to": {"<i>Police</i> desk"}, "note": {"case 12"}}, http.StatusSeeOther, "&lt;i&gt;Police&lt;/i&gt; desk"},
		{"transfer without recipient", "/transfer", url.Values{"to": {""}, "note": {"typed note"}}, http.StatusBadRequest, "typed note"},
		{"annotate", "/annotate", url.Values{"note": {"label on the disk"}}, http.StatusSeeOther, "label on the disk"},
		{"annotate empty", "/annotate", url.Values{"note": {""}}, http.StatusBadRequest, "Give a reason"},
		{"hold", "/hold", url.Values{"action": {"set"}, "reason": {"lawsuit expected"}}, http.StatusSeeOther, "Legal hold placed"},
		{"dispose under hold", "/dispose", url.Values{"reason": {"done"}}, http.StatusConflict, "under legal hold"},
		{"verify", "/verify", url.Values{}, http.StatusSeeOther, "still matches its SHA-256"},
		{"retention bad date", "/retention", url.Values{"until": {"soon"}, "reason": {"x"}}, http.StatusBadRequest, "“soon” is not a date."},
		{"retention", "/retention", url.Values{"until": {"2027-01-31"}, "reason": {"contract"}}, http.StatusSeeOther, "Retention date changed"},
		{"release", "/hold", url.Values{"action": {"release"}, "reason": {"settled"}}, http.StatusSeeOther, "Legal hold released"},
	}
	for _, s := range steps {
		resp, body := w.post(item+s.path, s.form)
		wantStatus(t, s.what, resp, body, s.status)
		if s.status == http.StatusSeeOther {
			resp, body = w.get(resp.Header.Get("Location"))
			wantStatus(t, s.what+": page after", resp, body, http.StatusOK)
		}
		if !strings.Contains(body, s.want) {
			t.Errorf("%s: page lacks %q:\n%s", s.what, s.want, body)
		}
	}
	got, err := w.locker.Evidence(context.Background(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Custodian != "<i>Police</i> desk" || got.Hold.Held || got.RetainUntil.UTC().Format(time.DateOnly) != "2027-01-31" {
		t.Errorf("item after the forms = %+v", got)
	}
}

func FuzzAttachment(f *testing.F) {
	for _, s := range []string{"請求書.eml", `a "quoted" name.txt`, "100%.txt", "back\\slash", "", "ﾃｽﾄ.zip", "tab\there", "x;filename=evil.exe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		h := attachment(name)
		disp, params, err := mime.ParseMediaType(h)
		if err != nil || disp != "attachment" {
			t.Fatalf("attachment(%q) = %q: does not parse (%v)", name, h, err)
		}
		want := name
		if want == "" {
			want = "download"
		}
		if utf8.ValidString(want) && params["filename"] != want {
			t.Fatalf("attachment(%q) = %q: reads back as %q", name, h, params["filename"])
		}
		for _, c := range []byte(h) {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("attachment(%q) = %q: holds byte %#x", name, h, c)
			}
		}
	})
}

// FuzzReadUploadFields feeds arbitrary multipart bodies to the reading of
// the upload form: it never panics, fails only with a fault a person can
// read, and hands over a file part only when it has a file name.
func FuzzReadUploadFields(f *testing.F) {
	seed := func(parts ...[2]string) []byte {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.SetBoundary("fuzzboundary")
		for _, p := range parts {
			if p[0] == "file" {
				fw, _ := mw.CreateFormFile("file", "メール.eml")
				_, _ = fw.Write([]byte(p[1]))
				continue
			}
			_ = mw.WriteField(p[0], p[1])
		}
		_ = mw.Close()
		return buf.Bytes()
	}
	f.Add(seed([2]string{"description", "d"}, [2]string{"collected_at", "2026-11-22T09:00"}, [2]string{"file", "Subject: x\r\n\r\nbody"}))
	f.Add(seed([2]string{"file", ""}))
	f.Add(seed([2]string{"collected_by", "\xff\xfe"}, [2]string{"file", "x"}))
	f.Add(seed([2]string{"description", "only"}))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n\r\nroot:x\r\n--fuzzboundary--\r\n"))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E2%80%AEgpj.exe\r\n\r\nMZ\r\n--fuzzboundary--\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var form uploadForm
		part, err := readUploadFields(multipart.NewReader(bytes.NewReader(body), "fuzzboundary"), &form)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid && k != fault.TooLarge {
				t.Fatalf("body %q: error of kind %s: %v", body, k, err)
			}
			if part != nil {
				t.Fatalf("body %q: a part with the error %v", body, err)
			}
			return
		}
		if part == nil || part.FormName() != "file" || part.FileName() == "" {
			t.Fatalf("body %q: handed over part %+v", body, part)
		}
		for _, v := range []string{form.Description, form.CollectedFrom, form.CollectedBy, form.CollectedAt} {
			if !utf8.ValidString(v) || len(v) > uploadFieldMax {
				t.Fatalf("body %q: field %q kept", body, v)
			}
		}
		// The name the locker will keep and offer back as a download.
		if name := incident.CleanName(part.FileName()); name == "" || strings.ContainsAny(name, "/\\") {
			t.Fatalf("body %q: file name %q cleaned to %q", body, part.FileName(), name)
		} else if _, params, err := mime.ParseMediaType(attachment(name)); err != nil || params["filename"] != name {
			t.Fatalf("file name %q: download header %q does not give it back", name, attachment(name))
		}
	})
}
