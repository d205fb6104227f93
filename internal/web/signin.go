// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

// signinMessages are the notices the sign-in page shows for m=…; anything
// else in the query is ignored.
var signinMessages = map[string]bool{"session.expired": true, "signin.signed_out": true}

type signinPage struct {
	*Page
	Name    string
	Next    string
	Message string
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	if p := principal(r); p != nil && !p.MFAPending {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	d := signinPage{Page: s.page(r, "", "signin.title"), Next: localPath(r.URL.Query().Get("next"))}
	if m := r.URL.Query().Get("m"); signinMessages[m] {
		d.Message = d.T(m)
	}
	s.render(w, r, http.StatusOK, "signin", d)
}

func (s *Server) client(r *http.Request) auth.Client {
	return auth.Client{IP: info(r).ip, UserAgent: r.UserAgent()}
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d := signinPage{Page: s.page(r, "", "signin.title"), Name: r.PostFormValue("name"), Next: localPath(r.PostFormValue("next"))}
	res, err := s.auth.SignIn(r.Context(), r.PostFormValue("name"), r.PostFormValue("password"), s.client(r))
	if err != nil {
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		var ra auth.RetryAfter
		if errors.As(err, &ra) {
			w.Header().Set("Retry-After", retrySeconds(time.Duration(ra)))
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "signin", d)
		return
	}
	// A browser that was signed in as someone else leaves that session.
	if old := info(r).secret; old != "" {
		if err := s.auth.SignOut(r.Context(), old, actor(r)); err != nil {
			s.log.WarnContext(r.Context(), "ending previous session failed", "error", err, "request_id", info(r).id)
		}
	}
	s.setSessionCookie(w, r, res.Secret)
	if res.Session.MFAPending {
		http.Redirect(w, r, "/signin/totp?next="+url.QueryEscape(d.Next), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

type totpPage struct {
	*Page
	Next string
}

func (s *Server) totpForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin_totp", totpPage{Page: s.page(r, "", "signin.totp_title"), Next: localPath(r.URL.Query().Get("next"))})
}

func (s *Server) totpSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	d := totpPage{Page: s.page(r, "", "signin.totp_title"), Next: localPath(r.PostFormValue("next"))}
	res, err := s.auth.CompleteTOTP(r.Context(), info(r).secret, r.PostFormValue("code"), s.client(r))
	if err != nil {
		if fault.KindOf(err) == fault.Unauthenticated && fault.Faults(err)[0].Msg == "session.expired" {
			s.clearSessionCookie(w, r)
			s.redirectToSignIn(w, r, "session.expired")
			return
		}
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "signin_totp", d)
		return
	}
	s.setSessionCookie(w, r, res.Secret)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if err := s.auth.SignOut(r.Context(), info(r).secret, actor(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	http.Redirect(w, r, "/signin?m=signin.signed_out", http.StatusSeeOther)
}

// setLang switches the language: for a signed-in user it is saved in their
// settings, for anyone it is kept in a cookie.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	lang := i18n.Lang(r.PostFormValue("lang"))
	if !lang.Valid() {
		s.fail(w, r, fault.InvalidField("lang", "prefs.lang_invalid"))
		return
	}
	if p := principal(r); p != nil && !p.MFAPending {
		if err := s.auth.SetPreferences(r.Context(), actor(r), p.User.ID, string(lang), p.User.TimeZone); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(lang), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}
