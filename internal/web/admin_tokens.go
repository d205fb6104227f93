// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// tokenLifetimes are the choices of the token form, in days (0: never ends).
var tokenLifetimes = []int{30, 90, 365, 0}

type tokensPage struct {
	*Page
	Tokens    []auth.Token
	Now       time.Time
	Lifetimes []int
	Name      string
	FormRole  auth.Role
	Days      int
	Created   *auth.Token
	Secret    string
}

func (s *Server) tokensData(r *http.Request) (tokensPage, error) {
	ts, err := s.auth.Tokens(r.Context())
	return tokensPage{Page: s.page(r, "tokens", "tokens.title"), Tokens: ts, Now: s.now(),
		Lifetimes: tokenLifetimes, FormRole: auth.RoleAnalyst, Days: 90}, err
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request) {
	d, err := s.tokensData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "tokens", d)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	name, role := r.PostFormValue("name"), auth.Role(r.PostFormValue("role"))
	days, convErr := strconv.Atoi(r.PostFormValue("days"))
	var err error
	var t auth.Token
	var secret string
	if convErr != nil || days < 0 || days > 3650 {
		err = fault.InvalidField("days", "tokens.ttl_invalid")
	} else {
		t, secret, err = s.auth.CreateToken(r.Context(), actor(r), name, role, time.Duration(days)*24*time.Hour)
	}
	d, derr := s.tokensData(r)
	if derr != nil {
		s.fail(w, r, derr)
		return
	}
	if err != nil {
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		d.Name, d.FormRole, d.Days = name, role, days
		s.render(w, r, statusFor(fault.KindOf(err)), "tokens", d)
		return
	}
	// Shown once, in this response only.
	d.Created, d.Secret = &t, secret
	s.render(w, r, http.StatusOK, "tokens", d)
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.auth.RevokeToken(r.Context(), actor(r), id); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/admin/tokens", "token_revoked")
}
