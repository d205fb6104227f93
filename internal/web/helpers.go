// SPDX-License-Identifier: Apache-2.0

package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

const langCookie = "koban_lang"

// sessionCookie is __Host- prefixed when cookies are Secure, so that no
// subdomain or plain-HTTP page can set or shadow it.
func (s *Server) sessionCookie(r *http.Request) string {
	if s.isSecure(r) {
		return "__Host-koban_session"
	}
	return "koban_session"
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(r), Value: secret, Path: "/", HttpOnly: true,
		Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode})
}

// parseForm reads a form body; a body over the limit or a malformed one is a
// fault.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		if c := classify(err); fault.KindOf(c) == fault.TooLarge {
			return c
		}
		return fault.Wrap(fault.Invalid, err, "error.malformed")
	}
	return nil
}

// pathID reads the numeric {id} of the route.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.New(fault.NotFound, "error.not_found")
	}
	return id, nil
}

// redirectDone sends the browser to path with a "done" notice (a message id
// under "done.").
func redirectDone(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		// The query goes before a fragment (#task-6), or the browser
		// takes it as part of the fragment and shows no notice.
		p, frag, hasFrag := strings.Cut(path, "#")
		path = p + "?done=" + url.QueryEscape(done)
		if hasFrag {
			path += "#" + frag
		}
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// redirectToSignIn sends the browser to the sign-in page, coming back to the
// page it asked for when that was a GET.
func (s *Server) redirectToSignIn(w http.ResponseWriter, r *http.Request, msg string) {
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		q.Set("next", r.URL.RequestURI())
	}
	if msg != "" {
		q.Set("m", msg)
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if info(r).api {
		s.fail(w, r, fault.New(fault.Unauthenticated, "session.none"))
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// localPath accepts only a path on this site ("/alerts?x=1"), and "/" for
// anything else: another host ("//host", "https://…"), a backslash or a
// control character anywhere (browsers read "/\\host" and "/\t/host" as
// "//host"), or a path that http.Redirect's cleaning would turn into one.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\") || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.HasPrefix(path.Clean(u.Path), "//") ||
		strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return p
}

// actor is the audit actor of the request's principal.
func actor(r *http.Request) audit.Actor {
	ri := info(r)
	if ri.principal == nil {
		return audit.Actor{Name: "anonymous", Via: audit.ViaWeb, IP: ri.ip}
	}
	return ri.principal.Actor(ri.ip)
}

// apiError is the JSON body of an API error.
type apiError struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Field     string `json:"field,omitempty"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func (s *Server) writeJSONError(w http.ResponseWriter, r *http.Request, status int, kind fault.Kind, msg string, args []any, err error) {
	var e apiError
	e.Error.Code = string(kind)
	e.Error.Message = s.cat.T(s.lang(r), msg, args...)
	e.Error.RequestID = info(r).id
	var f *fault.Error
	if errors.As(err, &f) && kind != fault.Internal {
		e.Error.Field = f.Field
	}
	s.writeJSON(w, status, e)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client may be gone; nothing to do
}

// decodeJSON reads a JSON body strictly: unknown fields and trailing data are
// refused with a message saying what and where.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fault.New(fault.Invalid, "error.json_content_type")
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if c := classify(err); fault.KindOf(c) == fault.TooLarge {
			return c
		}
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return fault.Wrap(fault.Invalid, err, "error.json_empty")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fault.Wrap(fault.Invalid, err, "error.json_syntax", "offset", dec.InputOffset())
		case errors.As(err, &se):
			return fault.Wrap(fault.Invalid, err, "error.json_syntax", "offset", se.Offset)
		case errors.As(err, &te):
			return fault.Wrap(fault.Invalid, err, "error.json_type", "field", te.Field, "offset", te.Offset)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fault.Wrap(fault.Invalid, err, "error.json_unknown_field", "field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
		}
		return fault.Wrap(fault.Invalid, err, "error.malformed")
	}
	if dec.More() {
		return fault.New(fault.Invalid, "error.json_trailing")
	}
	return nil
}
