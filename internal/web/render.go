// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

//go:embed templates
var templateFS embed.FS

// parseTemplates parses each page with the layout and partials, once, at
// start-up.
func (s *Server) parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"asset": s.assets.url,
		"roles": func() []auth.Role { return auth.Roles },
		"langs": func() []i18n.Lang { return i18n.Langs },
	}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	pages := make(map[string]*template.Template, len(files))
	for _, f := range files {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(templateFS, f); err != nil {
			return nil, err
		}
		pages[strings.TrimSuffix(path.Base(f), ".html")] = t
	}
	return pages, nil
}

// Page is what every screen shares: the language, who is signed in, the
// navigation, messages. Page data structs embed *Page.
type Page struct {
	Lang      i18n.Lang
	Title     string // translated
	Section   string // the navigation entry to mark current
	User      *auth.User
	Role      auth.Role
	Nav       []NavItem
	NavCounts map[string]NavCount // shown beside Nav entries, by key
	Flash     string              // translated notice after a redirect
	Errors    map[string]string   // field → translated message
	Summary   []string            // translated messages for the top of a form
	RequestID string
	Version   string
	Secure    bool // whether the connection is HTTPS (for hints)
	// RequestPath is where the language switch comes back to.
	RequestPath string
	cat         *i18n.Catalog
	loc         *time.Location
}

// T translates message id with named arguments.
func (p *Page) T(id string, args ...any) string { return p.cat.T(p.Lang, id, args...) }

// Time formats t in the viewer's time zone and language.
func (p *Page) Time(t time.Time) string {
	if t.IsZero() {
		return p.T("time.never")
	}
	return t.In(p.loc).Format(p.T("time.layout"))
}

// Zone names the viewer's time zone.
func (p *Page) Zone() string { return p.loc.String() }

// roleSelect is the data of the role-options partial.
type roleSelect struct {
	Page     *Page
	Selected auth.Role
}

// RoleSelect prepares the role-options partial with sel selected.
func (p *Page) RoleSelect(sel auth.Role) roleSelect { return roleSelect{Page: p, Selected: sel} }

// Err returns the message for a form field, or "".
func (p *Page) Err(field string) string { return p.Errors[field] }

// NavItem is one entry of the navigation.
type NavItem struct {
	Key   string // section name, also the message id suffix "nav.<key>"
	Href  string
	Group string // "main" or "admin"
}

var navItems = []struct {
	NavItem
	perm auth.Permission
}{
	{NavItem{"dashboard", "/", "main"}, auth.PermDashboard},
	{NavItem{"alerts", "/alerts", "main"}, auth.PermAlerts},
	{NavItem{"rules", "/rules", "main"}, auth.PermAlerts},
	{NavItem{"incidents", "/incidents", "main"}, auth.PermIncidentSummaries},
	{NavItem{"hunting", "/events", "main"}, auth.PermHunting},
	{NavItem{"intel", "/intel", "main"}, auth.PermIntel},
	{NavItem{"assets", "/assets", "main"}, auth.PermAssets},
	{NavItem{"vulnerabilities", "/vulnerabilities", "main"}, auth.PermVulns},
	{NavItem{"training", "/training", "main"}, auth.PermTraining},
	{NavItem{"reports", "/reports", "main"}, auth.PermReports},
	{NavItem{"report", "/report", "main"}, auth.PermReportDesk},
	{NavItem{"sources", "/sources", "admin"}, auth.PermHunting},
	{NavItem{"settings", "/settings", "admin"}, auth.PermSelf},
	{NavItem{"users", "/admin/users", "admin"}, auth.PermUsers},
	{NavItem{"playbooks", "/admin/playbooks", "admin"}, auth.PermPlaybooks},
	{NavItem{"tokens", "/admin/tokens", "admin"}, auth.PermTokens},
	{NavItem{"audit", "/admin/audit", "admin"}, auth.PermAudit},
}

// page builds the shared part of a screen for request r.
func (s *Server) page(r *http.Request, section, titleID string) *Page {
	ri := info(r)
	lang := s.lang(r)
	p := &Page{Lang: lang, Section: section, RequestID: ri.id, Version: s.opts.Version, cat: s.cat,
		loc: s.location(r, lang), Errors: map[string]string{}, Secure: s.isSecure(r), RequestPath: r.URL.Path}
	if r.Method == http.MethodGet {
		p.RequestPath = r.URL.RequestURI()
	}
	if pr := ri.principal; pr != nil && !pr.MFAPending {
		u := pr.User
		p.User, p.Role = &u, pr.Role
		for _, it := range navItems {
			// Until the first password is changed every link leads back
			// to the password form: show none.
			if pr.Can(it.perm) && !u.MustChangePassword {
				p.Nav = append(p.Nav, it.NavItem)
			}
		}
		p.NavCounts = s.navCounts(r, p)
	}
	if titleID != "" {
		p.Title = p.T(titleID)
	}
	if id := r.URL.Query().Get("done"); id != "" && s.cat.Has(i18n.English, "done."+id) {
		// Only known message ids: a link cannot inject text.
		p.Flash = p.T("done." + id)
	}
	return p
}

// lang picks the language: the user's setting, then the lang cookie, then
// Accept-Language.
func (s *Server) lang(r *http.Request) i18n.Lang {
	if p := principal(r); p != nil && i18n.Lang(p.User.Lang).Valid() {
		return i18n.Lang(p.User.Lang)
	}
	if c, err := r.Cookie(langCookie); err == nil && i18n.Lang(c.Value).Valid() {
		return i18n.Lang(c.Value)
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// location is the user's time zone, else Asia/Tokyo for Japanese and UTC
// for English.
func (s *Server) location(r *http.Request, lang i18n.Lang) *time.Location {
	if p := principal(r); p != nil && p.User.TimeZone != "" {
		if loc, err := time.LoadLocation(p.User.TimeZone); err == nil {
			return loc
		}
	}
	if lang == i18n.Japanese {
		if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
			return loc
		}
	}
	return time.UTC
}

// render executes page name with data into a buffer, then writes it, so a
// template error never leaves half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages[name]
	if !ok {
		s.fail(w, r, errors.New("web: no template "+name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // the client may be gone; nothing to do
}

// errorPage is the data of the error screen.
type errorPage struct {
	*Page
	Status  int
	Message string
}

// statusFor maps a fault kind to an HTTP status.
func statusFor(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.TooMany:
		return http.StatusTooManyRequests
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// fail is the one way out for errors: a fault's translated message with its
// status, or a generic page with the request id for anything else, whose
// cause goes to the log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	err = classify(err)
	kind := fault.KindOf(err)
	ri := info(r)
	if kind == fault.Internal {
		s.log.ErrorContext(r.Context(), "request failed", "error", err, "request_id", ri.id)
	}
	var ra auth.RetryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", retrySeconds(time.Duration(ra)))
	}
	status := statusFor(kind)
	msg, args := fault.Public(err)
	if ri.api {
		s.writeJSONError(w, r, status, kind, msg, args, err)
		return
	}
	p := s.page(r, "", "error.title")
	s.render(w, r, status, "error", errorPage{Page: p, Status: status, Message: p.T(msg, args...)})
}

// classify turns the standard library's request errors into faults.
func classify(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fault.Wrap(fault.TooLarge, err, "error.too_large", "max", mbe.Limit)
	}
	return err
}

func retrySeconds(d time.Duration) string {
	secs := int(d.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	return strconv.Itoa(secs)
}

// pageData is any page struct: they all embed *Page.
type pageData interface{ base() *Page }

func (p *Page) base() *Page { return p }

// form handles a form POST: it parses the body and runs act. A fault the
// user can fix shows the page again — reshow builds its data, keeping what
// they typed — with the messages and the fault's status; any other error
// fails; success redirects to path with the done notice.
func (s *Server) form(w http.ResponseWriter, r *http.Request, page, path, done string, act func() error, reshow func() (pageData, error)) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	err := act()
	if err == nil {
		redirectDone(w, r, path, done)
		return
	}
	d, derr := reshow()
	if derr != nil || !d.base().formErrors(err) {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, statusFor(fault.KindOf(err)), page, d)
}

// formErrors turns the faults in err into the page's field messages and
// summary. It reports false when err holds no fault a user can act on.
func (p *Page) formErrors(err error) bool {
	fs := fault.Faults(classify(err))
	if len(fs) == 0 {
		return false
	}
	for _, f := range fs {
		if f.Kind == fault.Internal {
			return false
		}
		m := p.T(f.Msg, f.Args...)
		if f.Field != "" {
			p.Errors[f.Field] = m
		}
		p.Summary = append(p.Summary, m)
	}
	return true
}

// renderPart executes one named template of a page without the layout, for
// htmx requests that replace part of a screen.
func (s *Server) renderPart(w http.ResponseWriter, r *http.Request, page, part string, data any) {
	t, ok := s.pages[page]
	if !ok {
		s.fail(w, r, errors.New("web: no template "+page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, data); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w) // the client may be gone; nothing to do
}
