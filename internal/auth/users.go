// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// NewUser is the input for CreateUser. An empty Password makes koban
// generate one, which the user must change at first sign-in.
type NewUser struct {
	Name        string
	DisplayName string
	Email       string
	Role        Role
	Password    string
}

// CreateUser adds a user and returns it with the password to hand over
// (the given one, or a generated one).
func (s *Service) CreateUser(ctx context.Context, a audit.Actor, in NewUser) (User, string, error) {
	in.Name = NormalizeName(in.Name)
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	in.Email = strings.TrimSpace(in.Email)
	var errs fault.List
	if err := CheckName(in.Name); err != nil {
		errs = append(errs, err.(*fault.Error))
	}
	if !in.Role.Valid() {
		errs = append(errs, fault.InvalidField("role", "user.role_invalid"))
	}
	errs = append(errs, fault.Faults(checkProfile(in.DisplayName, in.Email))...)
	mustChange := in.Password == ""
	if mustChange {
		in.Password = GeneratePassword()
	} else if err := CheckPassword(in.Name, in.Password); err != nil {
		errs = append(errs, err.(*fault.Error))
	}
	if err := errs.Err(); err != nil {
		return User{}, "", err
	}
	hash, err := s.hasher.hash(ctx, in.Password)
	if err != nil {
		return User{}, "", fmt.Errorf("auth: create user: %w", err)
	}
	now := s.nowUTC()
	u := User{Name: in.Name, DisplayName: in.DisplayName, Email: in.Email, Role: in.Role,
		PasswordHash: hash, MustChangePassword: mustChange, CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.store.CreateUser(ctx, u); err != nil {
			if fault.Is(err, fault.Conflict) {
				return fault.InvalidField("name", "user.name_taken", "name", in.Name)
			}
			return err
		}
		return s.record(ctx, a, "user.create", audit.Object("user", u.ID), nil, u.view())
	})
	if err != nil {
		return User{}, "", fmt.Errorf("auth: create user %q: %w", in.Name, err)
	}
	return u, in.Password, nil
}

// EnsureAdmin creates the first administrator, "admin" with a generated
// password that must be changed at first sign-in, when koban has no users
// yet. It returns the password and true when it created one.
func (s *Service) EnsureAdmin(ctx context.Context) (string, bool, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return "", false, fmt.Errorf("auth: count users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	_, pw, err := s.CreateUser(ctx, audit.System, NewUser{Name: "admin", DisplayName: "Administrator", Role: RoleAdmin})
	if fault.Is(err, fault.Invalid) {
		// Another node created it at the same moment.
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return pw, true, nil
}

// User returns the user with id.
func (s *Service) User(ctx context.Context, id int64) (User, error) { return s.store.User(ctx, id) }

// UserByName returns the user called name.
func (s *Service) UserByName(ctx context.Context, name string) (User, error) {
	return s.store.UserByName(ctx, NormalizeName(name))
}

// Users returns every user, by name.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.Users(ctx) }

// Sessions returns the user's active sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	return s.store.Sessions(ctx, userID)
}

// update loads a user, applies change, stores it and audits action with
// before and after, all in one transaction; change gets the transaction's
// ctx for any store call it makes.
func (s *Service) update(ctx context.Context, a audit.Actor, id int64, action string, change func(ctx context.Context, u *User) error) (User, error) {
	var u User
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.store.User(ctx, id); err != nil {
			return err
		}
		before := u.view()
		if err := change(ctx, &u); err != nil {
			return err
		}
		u.UpdatedAt = s.nowUTC()
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.record(ctx, a, action, audit.Object("user", u.ID), before, u.view())
	})
	if err != nil {
		return User{}, fmt.Errorf("auth: %s %d: %w", action, id, err)
	}
	return u, nil
}

// otherEnabledAdmins counts enabled administrators other than id.
func (s *Service) otherEnabledAdmins(ctx context.Context, id int64) (int, error) {
	us, err := s.store.Users(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range us {
		if u.ID != id && u.Role == RoleAdmin && !u.Disabled {
			n++
		}
	}
	return n, nil
}

// SetRole changes a user's role. The last enabled administrator keeps the
// role, so that koban always has one.
func (s *Service) SetRole(ctx context.Context, a audit.Actor, id int64, role Role) error {
	if !role.Valid() {
		return fault.InvalidField("role", "user.role_invalid")
	}
	_, err := s.update(ctx, a, id, "user.set_role", func(ctx context.Context, u *User) error {
		if u.Role == RoleAdmin && role != RoleAdmin {
			n, err := s.otherEnabledAdmins(ctx, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return fault.New(fault.Conflict, "user.last_admin")
			}
		}
		u.Role = role
		return nil
	})
	return err
}

// SetDisabled disables or re-enables a user. A disabled user's sessions end
// at once and their API tokens stop working. Nobody can disable themselves
// or the last enabled administrator.
func (s *Service) SetDisabled(ctx context.Context, a audit.Actor, id int64, disabled bool) error {
	action := "user.enable"
	if disabled {
		action = "user.disable"
	}
	_, err := s.update(ctx, a, id, action, func(ctx context.Context, u *User) error {
		if disabled && u.ID == a.UserID {
			return fault.New(fault.Conflict, "user.disable_self")
		}
		if disabled && u.Role == RoleAdmin {
			n, err := s.otherEnabledAdmins(ctx, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return fault.New(fault.Conflict, "user.last_admin")
			}
		}
		u.Disabled = disabled
		if disabled {
			if _, err := s.store.DeleteUserSessions(ctx, u.ID, ""); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// UpdateProfile changes a user's display name and e-mail address.
func (s *Service) UpdateProfile(ctx context.Context, a audit.Actor, id int64, displayName, email string) error {
	displayName, email = strings.TrimSpace(displayName), strings.TrimSpace(email)
	if err := checkProfile(displayName, email); err != nil {
		return err
	}
	_, err := s.update(ctx, a, id, "user.update_profile", func(ctx context.Context, u *User) error {
		u.DisplayName, u.Email = displayName, email
		return nil
	})
	return err
}

// SetPreferences changes a user's language ("en", "ja" or "" for the
// browser's) and time zone (an IANA name, or "" for the language default).
func (s *Service) SetPreferences(ctx context.Context, a audit.Actor, id int64, lang, tz string) error {
	var errs fault.List
	if lang != "" && lang != "en" && lang != "ja" {
		errs = append(errs, fault.InvalidField("lang", "prefs.lang_invalid"))
	}
	if tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			errs = append(errs, fault.InvalidField("time_zone", "prefs.tz_invalid", "tz", tz))
		}
	}
	if err := errs.Err(); err != nil {
		return err
	}
	_, err := s.update(ctx, a, id, "user.set_preferences", func(ctx context.Context, u *User) error {
		u.Lang, u.TimeZone = lang, tz
		return nil
	})
	return err
}

// checkCurrentPassword confirms a signed-in user's password before a
// sensitive change. Wrong guesses count against the account and address as
// failed sign-ins do, so a stolen session cannot be used to find the
// password.
func (s *Service) checkCurrentPassword(ctx context.Context, a audit.Actor, u User, password string) error {
	now := s.nowUTC()
	object := audit.Object("user", u.ID)
	if err := s.reserve(ctx, now, a, object, s.limits(u.Name, a.IP)...); err != nil {
		return err
	}
	ok, err := s.hasher.verify(ctx, u.PasswordHash, password)
	if err != nil {
		return fmt.Errorf("auth: check password: %w", err)
	}
	if !ok {
		if err := s.record(ctx, a, "auth.password_check_failed", object, nil, nil); err != nil {
			return fmt.Errorf("auth: check password: %w", err)
		}
		return fault.InvalidField("current_password", "password.current_wrong")
	}
	return s.store.Tx(ctx, func(ctx context.Context) error { return s.succeeded(ctx, u.Name, a.IP) })
}

// ChangePassword is a user changing their own password: current must match.
// Every other session of the user ends; keepSession (the one making the
// change) stays.
func (s *Service) ChangePassword(ctx context.Context, a audit.Actor, id int64, current, next, keepSession string) error {
	u, err := s.store.User(ctx, id)
	if err != nil {
		return fmt.Errorf("auth: change password: %w", err)
	}
	if err := s.checkCurrentPassword(ctx, a, u, current); err != nil {
		return err
	}
	if err := CheckPassword(u.Name, next); err != nil {
		return err
	}
	if next == current {
		return fault.InvalidField("new_password", "password.same_as_current")
	}
	return s.setPassword(ctx, a, u, next, false, keepSession, "user.password_change")
}

// ResetPassword is an administrator setting a user's password: a generated
// one when password is empty. The user must change it at next sign-in, and
// all their sessions end. It returns the password to hand over.
func (s *Service) ResetPassword(ctx context.Context, a audit.Actor, id int64, password string) (string, error) {
	u, err := s.store.User(ctx, id)
	if err != nil {
		return "", fmt.Errorf("auth: reset password: %w", err)
	}
	if password == "" {
		password = GeneratePassword()
	} else if err := CheckPassword(u.Name, password); err != nil {
		return "", err
	}
	if err := s.setPassword(ctx, a, u, password, true, "", "user.password_reset"); err != nil {
		return "", err
	}
	return password, nil
}

func (s *Service) setPassword(ctx context.Context, a audit.Actor, u User, password string, mustChange bool, keepSession, action string) error {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("auth: %s: %w", action, err)
	}
	_, err = s.update(ctx, a, u.ID, action, func(ctx context.Context, u *User) error {
		u.PasswordHash, u.MustChangePassword, u.PasswordChangedAt = hash, mustChange, s.nowUTC()
		_, err := s.store.DeleteUserSessions(ctx, u.ID, keepSession)
		return err
	})
	return err
}

// EndOtherSessions signs the user out everywhere except the session keep
// (empty: everywhere).
func (s *Service) EndOtherSessions(ctx context.Context, a audit.Actor, id int64, keep string) error {
	return s.store.Tx(ctx, func(ctx context.Context) error {
		n, err := s.store.DeleteUserSessions(ctx, id, keep)
		if err != nil {
			return err
		}
		return s.record(ctx, a, "user.sessions_end", audit.Object("user", id), nil, map[string]int64{"ended": n})
	})
}
