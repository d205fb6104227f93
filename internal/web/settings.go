// SPDX-License-Identifier: Apache-2.0

package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"slices"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
)

// timeZones are offered in the settings; any IANA name is accepted through
// the API.
var timeZones = []string{"Asia/Tokyo", "UTC", "Asia/Seoul", "Asia/Shanghai", "Asia/Taipei", "Asia/Singapore",
	"Asia/Bangkok", "Asia/Kolkata", "Australia/Sydney", "Europe/London", "Europe/Paris", "Europe/Berlin",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Pacific/Honolulu"}

type settingsPage struct {
	*Page
	Me          auth.User
	Sessions    []auth.Session
	Current     string
	TimeZones   []string
	DisplayName string
	Email       string
	FormLang    string
	FormTZ      string
}

func (s *Server) settingsData(r *http.Request) (settingsPage, error) {
	p := principal(r)
	u, err := s.auth.User(r.Context(), p.User.ID)
	if err != nil {
		return settingsPage{}, err
	}
	ss, err := s.auth.Sessions(r.Context(), u.ID)
	if err != nil {
		return settingsPage{}, err
	}
	tzs := timeZones
	if u.TimeZone != "" && !slices.Contains(tzs, u.TimeZone) {
		tzs = append([]string{u.TimeZone}, tzs...)
	}
	return settingsPage{Page: s.page(r, "settings", "settings.title"), Me: u, Sessions: ss, Current: p.SessionID,
		TimeZones: tzs, DisplayName: u.DisplayName, Email: u.Email, FormLang: u.Lang, FormTZ: u.TimeZone}, nil
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	d, err := s.settingsData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "settings", d)
}

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request) {
	id := principal(r).User.ID
	s.form(w, r, "settings", "/settings", "profile", func() error {
		return s.auth.UpdateProfile(r.Context(), actor(r), id, r.PostFormValue("display_name"), r.PostFormValue("email"))
	}, func() (pageData, error) {
		d, err := s.settingsData(r)
		d.DisplayName, d.Email = r.PostFormValue("display_name"), r.PostFormValue("email")
		return d, err
	})
}

func (s *Server) savePreferences(w http.ResponseWriter, r *http.Request) {
	id := principal(r).User.ID
	s.form(w, r, "settings", "/settings", "preferences", func() error {
		lang := r.PostFormValue("lang")
		if err := s.auth.SetPreferences(r.Context(), actor(r), id, lang, r.PostFormValue("time_zone")); err != nil {
			return err
		}
		if lang != "" {
			// Keep the signed-out pages in the same language too.
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode})
		}
		return nil
	}, func() (pageData, error) {
		d, err := s.settingsData(r)
		d.FormLang, d.FormTZ = r.PostFormValue("lang"), r.PostFormValue("time_zone")
		return d, err
	})
}

func (s *Server) revokeOtherSessions(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if err := s.auth.EndOtherSessions(r.Context(), actor(r), p.User.ID, p.SessionID); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/settings", "sessions_revoked")
}

type passwordPage struct {
	*Page
	MustChange bool
}

func (s *Server) passwordForm(w http.ResponseWriter, r *http.Request) {
	d := passwordPage{Page: s.page(r, "settings", "password.title"), MustChange: principal(r).User.MustChangePassword}
	s.render(w, r, http.StatusOK, "password", d)
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	s.form(w, r, "password", "/settings", "password", func() error {
		next := r.PostFormValue("new_password")
		if next != r.PostFormValue("confirm_password") {
			return fault.InvalidField("confirm_password", "password.mismatch")
		}
		return s.auth.ChangePassword(r.Context(), actor(r), p.User.ID, r.PostFormValue("current_password"), next, p.SessionID)
	}, func() (pageData, error) {
		return passwordPage{Page: s.page(r, "settings", "password.title"), MustChange: p.User.MustChangePassword}, nil
	})
}

type totpSettingsPage struct {
	*Page
	Enabled bool
	Pending bool
	Secret  string
	QR      template.URL
}

func (s *Server) totpSettingsData(r *http.Request) (totpSettingsPage, error) {
	p := principal(r)
	d := totpSettingsPage{Page: s.page(r, "settings", "totp.title")}
	u, err := s.auth.User(r.Context(), p.User.ID)
	if err != nil {
		return d, err
	}
	d.Enabled = u.TOTPEnabled()
	if !d.Enabled {
		e, ok, err := s.auth.PendingTOTP(r.Context(), u.ID)
		if err != nil {
			return d, err
		}
		if ok {
			d.Pending, d.Secret = true, e.Secret
			// A PNG we generated ourselves: safe as a data: URL.
			d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG))
		}
	}
	return d, nil
}

func (s *Server) totpSettings(w http.ResponseWriter, r *http.Request) {
	d, err := s.totpSettingsData(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "totp", d)
}

func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if p.User.TOTPEnabled() {
		redirectDone(w, r, "/settings/totp", "")
		return
	}
	if _, err := s.auth.BeginTOTP(r.Context(), actor(r), p.User.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/settings/totp", "")
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request) {
	id := principal(r).User.ID
	s.form(w, r, "totp", "/settings/totp", "totp_enabled", func() error {
		return s.auth.ConfirmTOTP(r.Context(), actor(r), id, r.PostFormValue("code"))
	}, func() (pageData, error) { return s.totpSettingsData(r) })
}

func (s *Server) totpDisable(w http.ResponseWriter, r *http.Request) {
	id := principal(r).User.ID
	s.form(w, r, "totp", "/settings/totp", "totp_disabled", func() error {
		pw := r.PostFormValue("password")
		return s.auth.DisableTOTP(r.Context(), actor(r), id, &pw)
	}, func() (pageData, error) { return s.totpSettingsData(r) })
}
