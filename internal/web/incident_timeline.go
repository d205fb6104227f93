// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
)

// timelinePage is the data of an incident's timeline tab.
type timelinePage struct {
	*Page
	Head    incidentHead
	Closed  bool
	Entries []entryView
	Kinds   []incident.EntryKind
	// The note form as typed.
	Kind incident.EntryKind
	At   string
	Text string
	// Max is the latest time the form accepts (now, in the viewer's
	// zone), for the input's max attribute.
	Max       string
	CSV, JSON string
}

// entryView is one timeline entry as the page shows it.
type entryView struct {
	ID       int64
	Kind     incident.EntryKind
	At       timeView
	Recorded timeView
	// Late: it was recorded at another time than it happened.
	Late   bool
	Author string
	Manual bool
	// Lines is the text, line by line.
	Lines []string
}

// incidentTimeline shows an incident's timeline: GET
// /incidents/{ref}/timeline.
func (s *Server) incidentTimeline(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "incident_timeline", s.timelineData(r, d))
}

// timelineData builds the timeline tab of incident d.
func (s *Server) timelineData(r *http.Request, d incident.Detail) *timelinePage {
	p := s.page(r, "incidents", "")
	p.Title = p.T("incidents.timeline.title", "ref", d.Ref)
	now := s.now()
	pg := &timelinePage{Page: p, Head: headOf(p, d.Incident, "timeline", true), Closed: d.Closed(),
		Kinds: incident.ManualKinds, Kind: incident.EntryNote, Max: now.In(p.loc).Format(dueLayout),
		CSV: incidentHref(d.Ref, "timeline") + ".csv", JSON: incidentHref(d.Ref, "timeline") + ".json"}
	tr := timelineTranslate(p.cat, p.Lang)
	for _, e := range d.Timeline {
		v := entryView{ID: e.ID, Kind: e.Kind, At: p.timeView(e.At, now), Recorded: p.timeView(e.RecordedAt, now),
			Late: !e.At.Truncate(time.Second).Equal(e.RecordedAt.Truncate(time.Second)), Author: e.Author,
			Manual: e.Manual}
		text := e.Text
		if e.Msg != "" {
			text = tr(e.Msg, e.MsgArgs()...)
		}
		v.Lines = strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
		pg.Entries = append(pg.Entries, v)
	}
	return pg
}

// timelineTranslate renders automatic timeline entries in lang, the
// stored words among their arguments as their labels
// (incident.TimelineTranslate).
func timelineTranslate(cat *i18n.Catalog, lang i18n.Lang) incident.Translate {
	return incident.TimelineTranslate(cat, lang)
}

// timelineNote records what a person writes: POST
// /incidents/{ref}/timeline.
func (s *Server) timelineNote(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	s.form(w, r, "incident_timeline", incidentHref(d.Ref, "timeline"), "inctimeline_added", func() error {
		n := incident.Note{Kind: incident.EntryKind(r.PostFormValue("kind")), Text: r.PostFormValue("text")}
		if at := strings.TrimSpace(r.PostFormValue("at")); at != "" {
			t, err := parseInputTime(at, s.page(r, "", "").loc)
			if err != nil {
				return fault.InvalidField("at", "incidents.timeline.at_invalid", "value", safeLine(at, 40))
			}
			n.At = t
		}
		_, err := s.opts.Incidents.AddNote(r.Context(), incidentActor(r), d.ID, n)
		return err
	}, func() (pageData, error) {
		pg := s.timelineData(r, d)
		pg.Kind, pg.At, pg.Text = incident.EntryKind(r.PostFormValue("kind")), r.PostFormValue("at"), r.PostFormValue("text")
		return pg, nil
	})
}

// timelineCSV exports the timeline as CSV: GET
// /incidents/{ref}/timeline.csv.
func (s *Server) timelineCSV(w http.ResponseWriter, r *http.Request) {
	s.timelineExport(w, r, "csv", "text/csv; charset=utf-8", incident.WriteTimelineCSV)
}

// timelineJSON exports the timeline as JSON: GET
// /incidents/{ref}/timeline.json.
func (s *Server) timelineJSON(w http.ResponseWriter, r *http.Request) {
	s.timelineExport(w, r, "json", "application/json; charset=utf-8", incident.WriteTimelineJSON)
}

// timelineExport writes the timeline as a file to save, in the viewer's
// language, through a buffer so that a failure shows an error page
// instead of half a file.
func (s *Server) timelineExport(w http.ResponseWriter, r *http.Request, ext, ctype string,
	write func(io.Writer, []incident.Entry, incident.Translate) error) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := write(&buf, d.Timeline, timelineTranslate(s.cat, s.lang(r))); err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", attachment(d.Ref+"-timeline."+ext))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w) // the client may be gone; nothing to do
}
