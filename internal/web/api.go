// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
)

// apiUser is a user as the API shows it: never the password hash or TOTP
// secret.
type apiUser struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	Email       string    `json:"email"`
	Role        auth.Role `json:"role"`
	Disabled    bool      `json:"disabled"`
	TOTP        bool      `json:"totp"`
	CreatedAt   time.Time `json:"created_at"`
}

func toAPIUser(u auth.User) apiUser {
	return apiUser{ID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Email: u.Email, Role: u.Role,
		Disabled: u.Disabled, TOTP: u.TOTPEnabled(), CreatedAt: u.CreatedAt}
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	s.writeJSON(w, http.StatusOK, struct {
		User  apiUser   `json:"user"`
		Role  auth.Role `json:"role"`
		Token string    `json:"token"`
	}{toAPIUser(p.User), p.Role, p.TokenName})
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) {
	us, err := s.auth.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiUser, 0, len(us))
	for _, u := range us {
		out = append(out, toAPIUser(u))
	}
	s.writeJSON(w, http.StatusOK, struct {
		Users []apiUser `json:"users"`
	}{out})
}

func (s *Server) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string    `json:"name"`
		DisplayName string    `json:"display_name"`
		Email       string    `json:"email"`
		Role        auth.Role `json:"role"`
		Password    string    `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	u, pw, err := s.auth.CreateUser(r.Context(), actor(r), auth.NewUser{Name: in.Name, DisplayName: in.DisplayName,
		Email: in.Email, Role: in.Role, Password: in.Password})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		User     apiUser `json:"user"`
		Password string  `json:"password,omitempty"`
	}{User: toAPIUser(u)}
	if in.Password == "" {
		out.Password = pw // generated: shown once
	}
	s.writeJSON(w, http.StatusCreated, out)
}

type apiAuditEntry struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	ActorID int64     `json:"actor_id"`
	Actor   string    `json:"actor"`
	Via     audit.Via `json:"via"`
	TokenID int64     `json:"token_id,omitempty"`
	IP      string    `json:"ip"`
	Action  string    `json:"action"`
	Object  string    `json:"object"`
	Before  string    `json:"before,omitempty"`
	After   string    `json:"after,omitempty"`
	Hash    string    `json:"hash"`
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	es, err := s.opts.Audit.AuditEntries(r.Context(), auditFilter(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiAuditEntry, 0, len(es))
	for _, e := range es {
		out = append(out, apiAuditEntry{Seq: e.Seq, Time: e.Time, ActorID: e.ActorID, Actor: e.Actor, Via: e.Via,
			TokenID: e.TokenID, IP: e.IP, Action: e.Action, Object: e.Object, Before: e.Before, After: e.After, Hash: e.Hash})
	}
	s.writeJSON(w, http.StatusOK, struct {
		Entries []apiAuditEntry `json:"entries"`
	}{out})
}
