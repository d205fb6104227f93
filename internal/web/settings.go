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
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := principal(r)
	err := s.auth.UpdateProfile(r.Context(), actor(r), p.User.ID, r.PostFormValue("display_name"), r.PostFormValue("email"))
	if err != nil {
		d, derr := s.settingsData(r)
		if derr != nil || !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		d.DisplayName, d.Email = r.PostFormValue("display_name"), r.PostFormValue("email")
		s.render(w, r, statusFor(fault.KindOf(err)), "settings", d)
		return
	}
	redirectDone(w, r, "/settings", "profile")
}

func (s *Server) savePreferences(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := principal(r)
	lang, tz := r.PostFormValue("lang"), r.PostFormValue("time_zone")
	if err := s.auth.SetPreferences(r.Context(), actor(r), p.User.ID, lang, tz); err != nil {
		d, derr := s.settingsData(r)
		if derr != nil || !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		d.FormLang, d.FormTZ = lang, tz
		s.render(w, r, statusFor(fault.KindOf(err)), "settings", d)
		return
	}
	if lang != "" {
		// Keep the signed-out pages in the same language too.
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: s.isSecure(r), SameSite: http.SameSiteLaxMode})
	}
	redirectDone(w, r, "/settings", "preferences")
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
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := principal(r)
	d := passwordPage{Page: s.page(r, "settings", "password.title"), MustChange: p.User.MustChangePassword}
	next := r.PostFormValue("new_password")
	var err error
	if next != r.PostFormValue("confirm_password") {
		err = fault.InvalidField("confirm_password", "password.mismatch")
	} else {
		err = s.auth.ChangePassword(r.Context(), actor(r), p.User.ID, r.PostFormValue("current_password"), next, p.SessionID)
	}
	if err != nil {
		if !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "password", d)
		return
	}
	redirectDone(w, r, "/settings", "password")
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
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := principal(r)
	if err := s.auth.ConfirmTOTP(r.Context(), actor(r), p.User.ID, r.PostFormValue("code")); err != nil {
		d, derr := s.totpSettingsData(r)
		if derr != nil || !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "totp", d)
		return
	}
	redirectDone(w, r, "/settings/totp", "totp_enabled")
}

func (s *Server) totpDisable(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	p := principal(r)
	pw := r.PostFormValue("password")
	if err := s.auth.DisableTOTP(r.Context(), actor(r), p.User.ID, &pw); err != nil {
		d, derr := s.totpSettingsData(r)
		if derr != nil || !d.formErrors(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, statusFor(fault.KindOf(err)), "totp", d)
		return
	}
	redirectDone(w, r, "/settings/totp", "totp_disabled")
}
