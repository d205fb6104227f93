// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

func TestIncidentTimelineNote(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Ransom note on file server", incident.TypeRansomware)
	base := "/incidents/" + inc.Ref + "/timeline"

	// The env clock is 10:00 UTC; the viewer (English, no zone set) reads UTC.
	resp, body := w.post(base, url.Values{"kind": {"action"}, "at": {"2026-11-22T08:30"}, "text": {"Unplugged <b>FS-01</b>\nfrom the LAN"}})
	wantStatus(t, "add note", resp, body, http.StatusSeeOther)
	d := w.detail(inc.ID)
	var note incident.Entry
	for _, e := range d.Timeline {
		if e.Manual {
			note = e
		}
	}
	if note.Kind != incident.EntryAction || note.At.UTC().Format("15:04") != "08:30" || note.RecordedAt.UTC().Format("15:04") != "10:00" {
		t.Fatalf("note = %+v, want an action at 08:30 recorded at 10:00", note)
	}
	_, page := w.get(base)
	id := `id="entry-` + strconv.FormatInt(note.ID, 10)
	for _, want := range []string{id + `-recorded"`, "Unplugged &lt;b&gt;FS-01&lt;/b&gt;<br>from the LAN", "Incident " + inc.Ref + " opened."} {
		if !strings.Contains(page, want) {
			t.Errorf("timeline page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>FS-01</b>") {
		t.Error("the note's HTML is not escaped")
	}
	if i, j := strings.Index(page, "Unplugged"), strings.Index(page, "opened."); i > j {
		t.Error("the note that happened first is not listed first")
	}

	resp, body = w.post(base, url.Values{"kind": {"action"}, "at": {"2026-11-22T11:00"}, "text": {"Future typed text"}})
	wantStatus(t, "future note", resp, body, http.StatusBadRequest)
	if !strings.Contains(body, "This time lies in the future.") || !strings.Contains(body, "Future typed text") {
		t.Errorf("future note: message or typed text missing:\n%s", body)
	}
	resp, body = w.post(base, url.Values{"kind": {"phase"}, "text": {"x"}})
	wantStatus(t, "kind not manual", resp, body, http.StatusBadRequest)
}

func TestIncidentTimelineExport(t *testing.T) {
	w := newWorkEnv(t, 0)
	inc := w.create("Lost laptop", incident.TypeLostDevice)
	ctx := context.Background()
	tk, err := w.inc.AddTask(ctx, w.actor(), inc.ID, incident.TaskInput{Title: "Wipe it remotely"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.inc.SetTaskStatus(ctx, w.actor(), incident.TaskRef{ID: tk.ID, Version: tk.Version}, incident.TaskDone, ""); err != nil {
		t.Fatal(err)
	}
	resp, body := w.post("/incidents/"+inc.Ref+"/timeline", url.Values{"kind": {"message"}, "at": {"2026-11-22T09:15"}, "text": {"=Called the insurer"}})
	wantStatus(t, "note", resp, body, http.StatusSeeOther)

	resp, body = w.get("/incidents/" + inc.Ref + "/timeline.csv")
	wantStatus(t, "csv", resp, body, http.StatusOK)
	checkAttachment(t, resp, "text/csv", inc.Ref+"-timeline.csv")
	if !strings.HasPrefix(body, "\uFEFF") {
		t.Error("CSV lacks the byte order mark")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	if len(rows) != 1+len(w.detail(inc.ID).Timeline) || rows[0][0] != "id" {
		t.Fatalf("CSV has %d rows (header %v)", len(rows), rows[0])
	}
	var texts []string
	for _, r := range rows[1:] {
		texts = append(texts, r[len(r)-1])
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"'=Called the insurer", "Task “Wipe it remotely” changed from Open to Done.", "Incident " + inc.Ref + " opened."} {
		if !strings.Contains(all, want) {
			t.Errorf("CSV texts lack %q:\n%s", want, all)
		}
	}
	if rows[1][2] != "2026-11-22T09:15:00Z" || rows[1][5] != "2026-11-22T19:00:00+09:00" {
		t.Errorf("first CSV row (the note) = %v: want it happened 09:15 UTC, recorded 19:00 JST", rows[1])
	}

	// JSON, for a Japanese reader.
	resp = w.do(req{path: "/incidents/" + inc.Ref + "/timeline.json", session: w.cookie, header: map[string]string{"Accept-Language": "ja"}})
	body = bodyOf(t, resp)
	wantStatus(t, "json", resp, body, http.StatusOK)
	checkAttachment(t, resp, "application/json", inc.Ref+"-timeline.json")
	var out []incident.ExportRow
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	var created, status bool
	for _, r := range out {
		created = created || r.Msg == "incident.timeline.created" && r.Text == "インシデント "+inc.Ref+" を起票しました。"
		status = status || r.Msg == "incident.timeline.task_status" && strings.Contains(r.Text, "完了") && r.Args["to"] == "done"
	}
	if !created || !status {
		t.Errorf("JSON export not in Japanese (created %v, task status %v):\n%s", created, status, body)
	}
}

// checkAttachment checks the headers of a file to save.
func checkAttachment(t *testing.T, resp *http.Response, ctype, name string) {
	t.Helper()
	if got, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); got != ctype {
		t.Errorf("Content-Type = %q, want %s", resp.Header.Get("Content-Type"), ctype)
	}
	disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != name {
		t.Errorf("Content-Disposition = %q (%v), want an attachment named %q", resp.Header.Get("Content-Disposition"), err, name)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("X-Content-Type-Options is not nosniff")
	}
}

func TestTimelineTranslateUnknownMessage(t *testing.T) {
	w := newWorkEnv(t, 0)
	tr := timelineTranslate(w.srv.cat, "en")
	if got, want := tr("nobody.knows.this", "a", "b"), "nobody.knows.this a b"; got != want {
		t.Errorf("unknown message: got %q, want %q", got, want)
	}
	if got, want := tr("incident.timeline.phase", "from", "triage", "to", "containment", "reason", ""), "Phase changed from Triage to Containment."; got != want {
		t.Errorf("phase entry: got %q, want %q", got, want)
	}
}

func TestTimelineTranslateLabelsStoredWords(t *testing.T) {
	w := newWorkEnv(t, 0)
	for _, c := range []struct {
		lang      i18n.Lang
		msg, want string
		args      []any
	}{
		{"en", "incident.timeline.changed_flags", "Regulatory flags now: Personal data involved, More than 1,000 people affected",
			[]any{"to", "personal_data, over_1000"}},
		{"ja", "incident.timeline.changed_flags", "personal_data", []any{"to", "personal_data, over_1000"}},
		{"en", "incident.timeline.changed_flags", "Regulatory flags now:", []any{"to", ""}},
		{"en", "incidentobs.timeline.alert", "Alert #7 (Medium) taken in: t on web01, 1 detection.",
			[]any{"id", "7", "title", "t", "level", "medium", "host", "web01", "count", "1"}},
		{"en", "comms.timeline.report_created", "Report draft #1 (Report to the PPC (漏えい等報告)) started.",
			[]any{"report", "1", "kind", "ppc", "stage", "preliminary"}},
		{"en", "comms.timeline.report_created", "Report draft #2 (bogus) started.", []any{"report", "2", "kind", "bogus"}},
	} {
		got := timelineTranslate(w.srv.cat, c.lang)(c.msg, c.args...)
		if c.lang == "ja" {
			if strings.Contains(got, c.want) {
				t.Errorf("%s in Japanese: %q still shows %q", c.msg, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s %v: got %q, want %q", c.msg, c.args, got, c.want)
		}
	}
}
