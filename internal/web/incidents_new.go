// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Playbook choices of the new-incident form besides a playbook's id.
const (
	incPlaybookAuto = "auto" // the best fit for the type: the default
	incPlaybookNone = "none"
)

// incForm is what the incident forms (new and edit) carry, as typed.
type incForm struct {
	Title, Description, Type string
	// Aware and Detected are datetime-local values in the viewer's zone.
	Aware, Detected string
	// Assets and Users are one per line; Techniques and Tags separated by
	// commas or blanks; Fields "name: value" per line.
	Assets, Users, Techniques, Tags, Fields string
	Flags                                   []string
	Playbook                                string
	Assignees                               []int64
	Version                                 int64
}

// incFormOf reads the incident form of a request.
func incFormOf(r *http.Request) incForm {
	f := incForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Type: r.PostFormValue("type"), Aware: strings.TrimSpace(r.PostFormValue("aware_at")),
		Detected: strings.TrimSpace(r.PostFormValue("detected_at")), Assets: r.PostFormValue("affected_assets"),
		Users: r.PostFormValue("affected_users"), Techniques: r.PostFormValue("techniques"),
		Tags: r.PostFormValue("tags"), Fields: r.PostFormValue("fields"), Flags: r.PostForm["flag"],
		Playbook: r.PostFormValue("playbook")}
	for _, v := range r.PostForm["assignee"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			f.Assignees = append(f.Assignees, id)
		}
	}
	f.Version, _ = strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	return f
}

// incFormFrom fills the form with an incident's fields, times in loc.
func incFormFrom(inc incident.Incident, loc *time.Location) incForm {
	f := incForm{Title: inc.Title, Description: inc.Description, Type: string(inc.Type),
		Assets: strings.Join(inc.AffectedAssets, "\n"), Users: strings.Join(inc.AffectedUsers, "\n"),
		Techniques: strings.Join(inc.Techniques, ", "), Tags: strings.Join(inc.Tags, ", "),
		Flags: inc.Flags.Names(), Assignees: inc.Assignees, Version: inc.Version}
	if !inc.AwareAt.IsZero() {
		f.Aware = inc.AwareAt.In(loc).Format(inputLayout)
	}
	if !inc.DetectedAt.IsZero() {
		f.Detected = inc.DetectedAt.In(loc).Format(inputLayout)
	}
	var b strings.Builder
	for _, fl := range inc.Fields {
		b.WriteString(fl.Name + ": " + strings.ReplaceAll(fl.Value, "\n", " ") + "\n")
	}
	f.Fields = b.String()
	return f
}

// input turns the form into the service's input, times read in loc. A
// time equal, to the second, to keep's is left zero ("unchanged"), as the
// form shows times to the second. Problems are faults naming the field.
func (f incForm) input(loc *time.Location, keep incident.Incident) (incident.Input, error) {
	in := incident.Input{Title: f.Title, Description: f.Description, Type: incident.Type(strings.TrimSpace(f.Type)),
		AffectedAssets: splitLines(f.Assets), AffectedUsers: splitLines(f.Users),
		Techniques: splitWords(f.Techniques), Tags: splitWords(f.Tags)}
	var errs fault.List
	var err error
	if in.Fields, err = parseIncFields(f.Fields); err != nil {
		errs = append(errs, fault.Faults(err)...)
	}
	if in.Flags, err = incFlagsOf(f.Flags); err != nil {
		errs = append(errs, fault.Faults(err)...)
	}
	for _, t := range []struct {
		field, text string
		keep        time.Time
		dst         *time.Time
	}{{"aware_at", f.Aware, keep.AwareAt, &in.AwareAt}, {"detected_at", f.Detected, keep.DetectedAt, &in.DetectedAt}} {
		if t.text == "" {
			continue
		}
		tm, err := parseInputTime(t.text, loc)
		if err != nil || tm.Year() < 1970 || tm.Year() > 9999 {
			errs = append(errs, fault.InvalidField(t.field, "incidents.form.bad_time", "value", safeLine(t.text, 40)))
			continue
		}
		if !t.keep.IsZero() && t.keep.Truncate(time.Second).Equal(tm) {
			continue
		}
		*t.dst = tm
	}
	return in, errs.Err()
}

// incFlagsOf reads the flag boxes. Every flag but personal data says
// something about the personal data involved (要配慮個人情報, people in
// the EU …), so ticking one marks personal data as involved too: a
// responder who ticks "sensitive" has answered that question, and leaving
// personal data unticked would silently keep the PPC clocks from starting.
// The form says so beside the boxes.
func incFlagsOf(names []string) (incident.Flags, error) {
	f, err := incident.FlagsOf(names)
	if err != nil {
		return incident.Flags{}, fault.InvalidField("flags", "incidents.form.bad_flag")
	}
	if f != (incident.Flags{}) {
		f.PersonalData = true
	}
	return f, nil
}

// splitLines returns the non-empty lines of s, trimmed.
func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// splitWords returns the words of s separated by commas (ASCII or
// Japanese) or blanks.
func splitWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '、' || r == '，' || unicode.IsSpace(r) })
}

// parseIncFields reads custom fields written "name: value", one per line
// (a full-width colon counts too).
func parseIncFields(s string) ([]incident.Field, error) {
	var out []incident.Field
	for i, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		j := strings.IndexAny(l, ":：")
		if j <= 0 {
			return nil, fault.InvalidField("fields", "incidents.form.field_line", "line", i+1)
		}
		sep := len(":")
		if strings.HasPrefix(l[j:], "：") {
			sep = len("：")
		}
		out = append(out, incident.Field{Name: strings.TrimSpace(l[:j]), Value: strings.TrimSpace(l[j+sep:])})
	}
	return out, nil
}

// incTypeOption is one type of the taxonomy as a form offers it.
type incTypeOption struct {
	Type        incident.Type
	Label, Help string
	Checked     bool
}

// incTypeOptions lists the taxonomy with sel checked.
func incTypeOptions(p *Page, sel string) []incTypeOption {
	var out []incTypeOption
	for _, t := range incident.Types() {
		out = append(out, incTypeOption{Type: t, Label: p.T("incident.type." + string(t)),
			Help: p.T("incident.type_help." + string(t)), Checked: string(t) == sel})
	}
	return out
}

// incFlagBox is one flag's checkbox.
type incFlagBox struct {
	Name, Label string
	Checked     bool
	// Personal: the box of personal data itself; the others depend on it.
	Personal bool
}

// incFlagBoxes lists the flags with those in checked ticked.
func incFlagBoxes(p *Page, checked []string) []incFlagBox {
	var out []incFlagBox
	for _, n := range incident.PlaybookFlags {
		out = append(out, incFlagBox{Name: n, Label: p.T("incidentclock.flag." + n), Checked: slices.Contains(checked, n),
			Personal: n == incident.FlagPersonalData})
	}
	return out
}

// incUserOption is a user the incident may be assigned to.
type incUserOption struct {
	ID      int64
	Label   string
	Checked bool
}

// incUserOptions lists the assignable users with those in checked ticked.
func (s *Server) incUserOptions(ctx context.Context, checked []int64) ([]incUserOption, error) {
	us, err := s.incAssignable(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]incUserOption, 0, len(us))
	for _, u := range us {
		out = append(out, incUserOption{ID: u.ID, Label: u.Label, Checked: slices.Contains(checked, u.ID)})
	}
	return out, nil
}

// incPlaybookOption is a playbook the new-incident form offers.
type incPlaybookOption struct {
	ID, Title, Types string
	Selected         bool
}

// incNewPage is the data of the new-incident form.
type incNewPage struct {
	*Page
	F         incForm
	Types     []incTypeOption
	FlagBoxes []incFlagBox
	Playbooks []incPlaybookOption
	// Suggested names the playbook "auto" picks for the chosen type; ""
	// when no type is chosen or none suits it.
	Suggested string
	Users     []incUserOption
}

// incNewData builds the form with f's values.
func (s *Server) incNewData(r *http.Request, f incForm) (*incNewPage, error) {
	p := s.page(r, "incidents", "incidents.new.title")
	p.RequestPath = "/incidents/new"
	if f.Playbook == "" {
		f.Playbook = incPlaybookAuto
	}
	d := &incNewPage{Page: p, F: f, Types: incTypeOptions(p, f.Type), FlagBoxes: incFlagBoxes(p, f.Flags)}
	lib, err := s.playbookLibrary(r.Context())
	if err != nil {
		return nil, err
	}
	for _, pb := range lib {
		var types []string
		for _, t := range pb.Types {
			types = append(types, p.T("incident.type."+string(t)))
		}
		d.Playbooks = append(d.Playbooks, incPlaybookOption{ID: pb.ID, Title: incident.PlaybookText(pb.Title, string(p.Lang)),
			Types: strings.Join(types, p.T("incidents.list_sep")), Selected: pb.ID == f.Playbook})
	}
	if pb := suggestPlaybook(lib, incident.Type(f.Type)); pb != nil {
		d.Suggested = incident.PlaybookText(pb.Title, string(p.Lang))
	}
	if d.Users, err = s.incUserOptions(r.Context(), f.Assignees); err != nil {
		return nil, err
	}
	return d, nil
}

// suggestPlaybook returns the playbook of lib that suits type t best:
// ForType's order (best fit first), among those lib holds; nil for none.
func suggestPlaybook(lib []*incident.Playbook, t incident.Type) *incident.Playbook {
	if !t.Valid() {
		return nil
	}
	for _, want := range incident.ForType(t) {
		for _, pb := range lib {
			if pb.ID == want.ID {
				return pb
			}
		}
	}
	for _, pb := range lib {
		if slices.Contains(pb.Types, t) {
			return pb
		}
	}
	return nil
}

// incidentNew is the new-incident form: GET /incidents/new.
func (s *Server) incidentNew(w http.ResponseWriter, r *http.Request) {
	if s.opts.Incidents == nil {
		s.fail(w, r, fault.New(fault.NotFound, "incidents.off"))
		return
	}
	loc := s.location(r, s.lang(r))
	d, err := s.incNewData(r, incForm{Aware: s.now().In(loc).Format(inputLayout)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "incidents_new", d)
}

// incidentNewPost creates an incident and the tasks of its playbook in one
// transaction: POST /incidents/new.
func (s *Server) incidentNewPost(w http.ResponseWriter, r *http.Request) {
	if s.opts.Incidents == nil {
		s.fail(w, r, fault.New(fault.NotFound, "incidents.off"))
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	f := incFormOf(r)
	ref, err := s.createIncident(r, f)
	if err == nil {
		redirectDone(w, r, incidentHref(ref, ""), "inc_created")
		return
	}
	d, derr := s.incNewData(r, f)
	if derr != nil || !d.formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), "incidents_new", d)
}

// createIncident creates the incident of the form, with the tasks of the
// playbook chosen, and returns its reference.
func (s *Server) createIncident(r *http.Request, f incForm) (string, error) {
	lang := s.lang(r)
	in, err := f.input(s.location(r, lang), incident.Incident{})
	if err != nil {
		return "", err
	}
	var pb *incident.Playbook
	if f.Playbook != incPlaybookNone {
		lib, err := s.playbookLibrary(r.Context())
		if err != nil {
			return "", err
		}
		switch f.Playbook {
		case incPlaybookAuto, "":
			pb = suggestPlaybook(lib, in.Type)
		default:
			i := slices.IndexFunc(lib, func(pb *incident.Playbook) bool { return pb.ID == f.Playbook })
			if i < 0 {
				return "", fault.InvalidField("playbook", "incidents.new.bad_playbook")
			}
			pb = lib[i]
		}
	}
	a := incidentActor(r)
	var ref string
	err = s.opts.Tx(r.Context(), func(ctx context.Context) error {
		inc, err := s.opts.Incidents.Create(ctx, a, incident.Draft{Tenant: tenantOf(r), Input: in, Assignees: f.Assignees})
		if err != nil {
			return err
		}
		ref = inc.Ref
		if pb == nil {
			return nil
		}
		// The tasks tab applies playbooks; the form answers none of the
		// playbook's decisions, which become tasks of deciding them.
		d, err := s.opts.Incidents.Incident(ctx, a, inc.ID)
		if err != nil {
			return err
		}
		return s.applyPlaybook(r.WithContext(ctx), d, pb)
	})
	return ref, err
}

// incFieldsData is the data of the "inc_fields" partial: the fields an
// incident's new and edit forms share.
type incFieldsData struct {
	P     *Page
	F     incForm
	Types []incTypeOption
	// Errs holds the form's field messages; nil when another form failed.
	Errs map[string]string
	// ID prefixes the fields' ids ("new-", "edit-").
	ID string
}

// Fields returns the data of the form's shared fields.
func (d *incNewPage) Fields() incFieldsData {
	return incFieldsData{P: d.Page, F: d.F, Types: d.Types, Errs: d.Errors, ID: "new-"}
}

// incFlagsData is the data of the "inc_flags" partial.
type incFlagsData struct {
	P     *Page
	Boxes []incFlagBox
	ID    string
	Err   string
}

// Flags returns the data of the form's flag boxes.
func (d *incNewPage) Flags() incFlagsData {
	return incFlagsData{P: d.Page, Boxes: d.FlagBoxes, ID: "new-", Err: d.Errors["flags"]}
}
