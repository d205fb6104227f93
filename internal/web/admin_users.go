// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"
	"strconv"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

type usersPage struct {
	*Page
	Users []auth.User
}

func (s *Server) users(w http.ResponseWriter, r *http.Request) {
	us, err := s.auth.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "users", usersPage{Page: s.page(r, "users", "users.title"), Users: us})
}

type newUserPage struct {
	*Page
	Form auth.NewUser
}

func (s *Server) newUserForm(w http.ResponseWriter, r *http.Request) {
	d := newUserPage{Page: s.page(r, "users", "users.new_title"), Form: auth.NewUser{Role: auth.RoleAnalyst}}
	s.render(w, r, http.StatusOK, "user_new", d)
}

// passwordShownPage shows a password once, right after it was set; it is
// never stored in a cookie or URL.
type passwordShownPage struct {
	*Page
	Subject  auth.User
	Password string
	Created  bool
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	in := auth.NewUser{Name: r.PostFormValue("name"), DisplayName: r.PostFormValue("display_name"),
		Email: r.PostFormValue("email"), Role: auth.Role(r.PostFormValue("role")), Password: r.PostFormValue("password")}
	u, pw, err := s.auth.CreateUser(r.Context(), actor(r), in)
	if err != nil {
		d := newUserPage{Page: s.page(r, "users", "users.new_title"), Form: in}
		d.Form.Password = ""
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "user_new", d)
		return
	}
	if in.Password != "" {
		// The administrator chose it: no need to show it back.
		redirectDone(w, r, "/admin/users/"+strconv.FormatInt(u.ID, 10), "user_created")
		return
	}
	s.render(w, r, http.StatusOK, "password_shown", passwordShownPage{Page: s.page(r, "users", "users.created_title"),
		Subject: u, Password: pw, Created: true})
}

type userPage struct {
	*Page
	Subject     auth.User
	Sessions    int
	DisplayName string
	Email       string
}

func (s *Server) userData(r *http.Request) (userPage, error) {
	id, err := pathID(r)
	if err != nil {
		return userPage{}, err
	}
	u, err := s.auth.User(r.Context(), id)
	if err != nil {
		return userPage{}, err
	}
	ss, err := s.auth.Sessions(r.Context(), id)
	if err != nil {
		return userPage{}, err
	}
	return userPage{Page: s.page(r, "users", ""), Subject: u, Sessions: len(ss), DisplayName: u.DisplayName, Email: u.Email}, nil
}

func (s *Server) userDetail(w http.ResponseWriter, r *http.Request) {
	d, err := s.userData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Title = d.Subject.Name
	s.render(w, r, http.StatusOK, "user", d)
}

// userAction runs change on the user of the route and goes back to the
// user's page with a notice, or shows the page again with the fault.
// userAction runs change on the user of the route and goes back to the
// user's page with a notice, or shows the page again with the fault.
func (s *Server) userAction(w http.ResponseWriter, r *http.Request, done string, change func(id int64) error) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.form(w, r, "user", "/admin/users/"+strconv.FormatInt(id, 10), done, func() error { return change(id) }, func() (pageData, error) {
		d, err := s.userData(r)
		d.Title = d.Subject.Name
		if done == "profile" {
			d.DisplayName, d.Email = r.PostFormValue("display_name"), r.PostFormValue("email")
		}
		return d, err
	})
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "profile", func(id int64) error {
		return s.auth.UpdateProfile(r.Context(), actor(r), id, r.PostFormValue("display_name"), r.PostFormValue("email"))
	})
}

func (s *Server) setRole(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "role", func(id int64) error {
		return s.auth.SetRole(r.Context(), actor(r), id, auth.Role(r.PostFormValue("role")))
	})
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "user_disabled", func(id int64) error { return s.auth.SetDisabled(r.Context(), actor(r), id, true) })
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "user_enabled", func(id int64) error { return s.auth.SetDisabled(r.Context(), actor(r), id, false) })
}

func (s *Server) resetTOTP(w http.ResponseWriter, r *http.Request) {
	s.userAction(w, r, "totp_reset", func(id int64) error { return s.auth.DisableTOTP(r.Context(), actor(r), id, nil) })
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pw, err := s.auth.ResetPassword(r.Context(), actor(r), id, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.auth.User(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "password_shown", passwordShownPage{Page: s.page(r, "users", "users.reset_title"),
		Subject: u, Password: pw})
}
