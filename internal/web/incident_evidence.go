// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Bounds of the upload form besides the file.
const (
	// uploadFieldMax bounds one text field of the upload form, in bytes
	// (the locker's own limits are in characters and lower).
	uploadFieldMax = 16 << 10
	// uploadParts bounds the parts read before the file.
	uploadParts = 16
	// uploadRoom is what the body limit allows beyond the file: the text
	// fields and the multipart framing.
	uploadRoom = uploadParts*uploadFieldMax + 64<<10
)

// registerEvidence registers the routes of the evidence locker.
func (s *Server) registerEvidence() {
	max := int64(incident.DefaultEvidenceMaxSize)
	if s.opts.Evidence != nil {
		max = s.opts.Evidence.MaxSize()
	}
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/evidence", s.incidentEvidence)
	s.handleUpload(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence", max+uploadRoom, s.evidenceUpload)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/evidence/{id}", s.evidenceDetail)
	s.handle(Session, auth.PermIncidents, "GET /incidents/{ref}/evidence/{id}/download", s.evidenceDownload)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence/{id}/transfer", s.evidenceTransfer)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence/{id}/annotate", s.evidenceAnnotate)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence/{id}/hold", s.evidenceHold)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence/{id}/retention", s.evidenceRetention)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence/{id}/verify", s.evidenceVerify)
	s.handle(Session, auth.PermIncidents, "POST /incidents/{ref}/evidence/{id}/dispose", s.evidenceDispose)
}

// evidencePage is the data of an incident's evidence tab and of one item's
// page (Item set).
type evidencePage struct {
	*Page
	Head    incidentHead
	Closed  bool
	Items   []evidenceView
	MaxSize string
	// Up is the upload form as typed.
	Up uploadForm
	// Item is the item shown in full, with its custody.
	Item    *evidenceView
	Custody []custodyView
	// Active names the form shown again ("upload", "transfer" …); Typed
	// holds its values.
	Active string
	Typed  map[string]string
}

// evidenceView is an item as the pages show it.
type evidenceView struct {
	ID                         int64
	Href, Download             string
	Name, ContentType          string
	Size                       string
	SHA256, SHA1, MD5          string
	Description                string
	CollectedBy, CollectedFrom string
	Collected, Uploaded        string
	UploadedBy, Custodian      string
	Held                       bool
	HoldBy, HoldAt, HoldReason string
	RetainUntil                string
	RetainDate                 string // for the date input
	Disposed                   string // when, or "" while kept
}

// custodyView is one custody entry.
type custodyView struct {
	At              string
	Action          incident.CustodyAction
	Actor, From, To string
	Note            string
}

// uploadForm is the upload form's text fields as typed.
type uploadForm struct {
	Description, CollectedFrom, CollectedBy, CollectedAt string
}

// evidenceHref is the address of an item's page.
func evidenceHref(ref string, id int64) string {
	return incidentHref(ref, "evidence") + "/" + strconv.FormatInt(id, 10)
}

// locker returns the evidence locker, or NotFound when koban runs without
// one.
func (s *Server) locker() (*incident.Locker, error) {
	if s.opts.Evidence == nil {
		return nil, fault.New(fault.NotFound, "incidents.evidence.off")
	}
	return s.opts.Evidence, nil
}

// incidentEvidence lists an incident's evidence: GET
// /incidents/{ref}/evidence.
func (s *Server) incidentEvidence(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	pg, err := s.evidenceData(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incident_evidence", pg)
}

// evidenceData builds the evidence tab of incident d.
func (s *Server) evidenceData(r *http.Request, d incident.Detail) (*evidencePage, error) {
	l, err := s.locker()
	if err != nil {
		return nil, err
	}
	p := s.page(r, "incidents", "")
	p.Title = p.T("incidents.evidence.title", "ref", d.Ref)
	pg := &evidencePage{Page: p, Head: headOf(p, d.Incident, "evidence", true), Closed: d.Closed(),
		MaxSize: humanSize(l.MaxSize()), Typed: map[string]string{}}
	items, err := l.List(r.Context(), d.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range items {
		pg.Items = append(pg.Items, evidenceViewOf(p, d.Ref, e))
	}
	return pg, nil
}

// evidenceViewOf prepares item e of incident ref.
func evidenceViewOf(p *Page, ref string, e incident.Evidence) evidenceView {
	v := evidenceView{ID: e.ID, Href: evidenceHref(ref, e.ID), Name: e.Name, ContentType: e.ContentType,
		Size:   p.T("incidents.evidence.size", "human", humanSize(e.Size), "bytes", groupDigits(e.Size)),
		SHA256: e.SHA256, SHA1: e.SHA1, MD5: e.MD5, Description: e.Description, CollectedBy: e.CollectedBy,
		CollectedFrom: e.CollectedFrom, Collected: p.Time(e.CollectedAt), Uploaded: p.Time(e.UploadedAt),
		UploadedBy: e.UploadedBy, Custodian: e.Custodian, Held: e.Hold.Held, RetainUntil: p.Time(e.RetainUntil)}
	v.Download = v.Href + "/download"
	if e.Hold.Held {
		v.HoldBy, v.HoldAt, v.HoldReason = e.Hold.By, p.Time(e.Hold.At), e.Hold.Reason
	}
	if !e.RetainUntil.IsZero() {
		v.RetainDate = e.RetainUntil.In(p.loc).Format(time.DateOnly)
	}
	if e.Disposed() {
		v.Disposed = p.Time(e.DisposedAt)
	}
	return v
}

// humanSize writes a size in bytes for people: 512 bytes, 1.5 KiB, 1 GiB.
func humanSize(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f := float64(n)
	u := ""
	for _, u = range units {
		f /= 1024
		if f < 1024 {
			break
		}
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + " " + u
}

// evidenceUpload stores an uploaded file: POST /incidents/{ref}/evidence.
// The body is read as a stream: the text fields first (the form puts the
// file last), then the file straight into the locker, which hashes and
// stores it under its size limit without holding it in memory.
func (s *Server) evidenceUpload(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	l, err := s.locker()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var f uploadForm
	e, err := s.receiveEvidence(r, l, d, &f)
	if err == nil {
		redirectDone(w, r, evidenceHref(d.Ref, e.ID), "incevidence_added")
		return
	}
	pg, derr := s.evidenceData(r, d)
	if derr != nil || !pg.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	pg.Active, pg.Up = "upload", f
	s.render(w, r, statusFor(fault.KindOf(classify(err))), "incident_evidence", pg)
}

// receiveEvidence reads the multipart body into f and the locker.
func (s *Server) receiveEvidence(r *http.Request, l *incident.Locker, d incident.Detail, f *uploadForm) (incident.Evidence, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return incident.Evidence{}, fault.Wrap(fault.Invalid, err, "incidents.evidence.not_multipart")
	}
	part, err := readUploadFields(mr, f)
	if err != nil {
		return incident.Evidence{}, err
	}
	meta, err := f.meta(s.page(r, "", "").loc)
	if err != nil {
		return incident.Evidence{}, err
	}
	meta.Name = part.FileName()
	// Anything after the file is not read: the form has nothing there.
	return l.AddEvidence(r.Context(), incidentActor(r), d.ID, meta, part)
}

// readUploadFields reads the parts before the file into f and returns the
// file's part, unread. Errors are faults: Invalid for a malformed body, a
// field too long or not text, too many parts or no file; TooLarge when the
// body passes its limit.
func readUploadFields(mr *multipart.Reader, f *uploadForm) (*multipart.Part, error) {
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, fault.InvalidField("file", "incidents.evidence.file_missing")
		}
		if err != nil {
			return nil, uploadReadFault(err)
		}
		if n >= uploadParts {
			return nil, fault.New(fault.Invalid, "incidents.evidence.too_many_parts")
		}
		name := part.FormName()
		if name == "file" {
			if part.FileName() == "" {
				return nil, fault.InvalidField("file", "incidents.evidence.file_missing")
			}
			return part, nil
		}
		b, err := io.ReadAll(io.LimitReader(part, uploadFieldMax+1))
		if err != nil {
			return nil, uploadReadFault(err)
		}
		if len(b) > uploadFieldMax || !utf8.Valid(b) {
			return nil, fault.InvalidField(safeLine(name, 40), "incidents.evidence.field_invalid")
		}
		switch v := string(b); name {
		case "description":
			f.Description = v
		case "collected_from":
			f.CollectedFrom = v
		case "collected_by":
			f.CollectedBy = v
		case "collected_at":
			f.CollectedAt = strings.TrimSpace(v)
		}
	}
}

// uploadReadFault turns an error reading the body into a fault: TooLarge
// past the body limit, Invalid otherwise.
func uploadReadFault(err error) error {
	if c := classify(err); fault.KindOf(c) == fault.TooLarge {
		return c
	}
	return fault.Wrap(fault.Invalid, err, "error.malformed")
}

// meta turns the typed fields into the locker's metadata; times are in
// loc.
func (f uploadForm) meta(loc *time.Location) (incident.EvidenceMeta, error) {
	m := incident.EvidenceMeta{Description: f.Description, CollectedFrom: f.CollectedFrom, CollectedBy: f.CollectedBy}
	if f.CollectedAt != "" {
		t, err := parseInputTime(f.CollectedAt, loc)
		if err != nil {
			return m, fault.InvalidField("collected_at", "incidents.evidence.at_invalid", "value", safeLine(f.CollectedAt, 40))
		}
		m.CollectedAt = t
	}
	return m, nil
}

// evidenceOf returns the item the route's {id} names when it belongs to
// incident d: NotFound otherwise, whether it does not exist or is another
// incident's.
func (s *Server) evidenceOf(r *http.Request, d incident.Detail) (*incident.Locker, incident.Evidence, error) {
	l, err := s.locker()
	if err != nil {
		return nil, incident.Evidence{}, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, incident.Evidence{}, err
	}
	e, err := l.Evidence(r.Context(), id)
	if err == nil && e.IncidentID != d.ID {
		err = fault.New(fault.NotFound, "incidents.evidence.not_found", "id", id)
	}
	if fault.Is(err, fault.NotFound) {
		err = fault.New(fault.NotFound, "incidents.evidence.not_found", "id", id)
	}
	return l, e, err
}

// evidenceDetailData builds the page of item e of incident d.
func (s *Server) evidenceDetailData(r *http.Request, l *incident.Locker, d incident.Detail, e incident.Evidence) (*evidencePage, error) {
	p := s.page(r, "incidents", "")
	p.Title = p.T("incidents.evidence.item_title", "name", e.Name, "ref", d.Ref)
	v := evidenceViewOf(p, d.Ref, e)
	pg := &evidencePage{Page: p, Head: headOf(p, d.Incident, "evidence", true), Closed: d.Closed(), Item: &v,
		MaxSize: humanSize(l.MaxSize()), Typed: map[string]string{}}
	cs, err := l.Custody(r.Context(), e.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		pg.Custody = append(pg.Custody, custodyView{At: p.Time(c.At), Action: c.Action, Actor: c.Actor, From: c.From,
			To: c.To, Note: c.Note})
	}
	return pg, nil
}

// evidenceDetail shows one item with its chain of custody: GET
// /incidents/{ref}/evidence/{id}.
func (s *Server) evidenceDetail(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	l, e, err := s.evidenceOf(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pg, err := s.evidenceDetailData(r, l, d, e)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incident_evidence", pg)
}

// evidenceDownload hands out an item's content as a file, recorded in its
// custody: GET /incidents/{ref}/evidence/{id}/download. Evidence is hostile
// by nature: it is never given a type a browser would render or run.
func (s *Server) evidenceDownload(w http.ResponseWriter, r *http.Request) {
	d, ok := s.incidentDetail(w, r)
	if !ok {
		return
	}
	l, e, err := s.evidenceOf(r, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, e, err := l.Download(r.Context(), incidentActor(r), e.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", attachment(e.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if n, err := io.Copy(w, rc); err != nil {
		// The headers are gone: all that is left is to say so in the log.
		s.log.WarnContext(r.Context(), "evidence download cut short", "error", err, "written", n,
			"incident_id", d.ID, "request_id", info(r).id)
	}
}

// attachment is a Content-Disposition header offering name as the file
// name to save (RFC 6266): an ASCII fallback in filename, the name itself
// in UTF-8 in filename* (RFC 8187), which browsers prefer.
func attachment(name string) string {
	if name == "" {
		name = "download"
	}
	var fb, enc strings.Builder
	for _, c := range name {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%' {
			fb.WriteByte('_')
		} else {
			fb.WriteRune(c)
		}
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if attrChar(c) {
			enc.WriteByte(c)
		} else {
			enc.WriteByte('%')
			enc.WriteByte(hex[c>>4])
			enc.WriteByte(hex[c&15])
		}
	}
	return `attachment; filename="` + fb.String() + `"; filename*=UTF-8''` + enc.String()
}

// attrChar reports whether c may stand unencoded in an RFC 8187 value.
func attrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
