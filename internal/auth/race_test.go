// SPDX-License-Identifier: Apache-2.0

package auth_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// These tests send requests at once, on both databases: limits, one-time
// codes and the last administrator must hold under concurrency too.

func serviceOn(t *testing.T, db *store.DB, now func() time.Time) *auth.Service {
	t.Helper()
	s, err := auth.New(db, auth.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour,
		Throttle: auth.ThrottlePolicy{MaxFailuresPerUser: 5, MaxFailuresPerIP: 20, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: 30 * time.Minute}}, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustUser(t *testing.T, s *auth.Service, name string, role auth.Role, pw string) auth.User {
	t.Helper()
	u, _, err := s.CreateUser(context.Background(), audit.System, auth.NewUser{Name: name, Role: role, Password: pw})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// parallel runs fn(i) for i in [0, n) at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn(i) }()
	}
	wg.Wait()
	return errs
}

func TestParallelSignInsStayWithinTheLimit(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, open storetest.Opener) {
		s := serviceOn(t, open(t), nil)
		ctx := context.Background()
		mustUser(t, s, "vic", auth.RoleAnalyst, "the right passphrase")
		errs := parallel(40, func(i int) error {
			_, err := s.SignIn(ctx, "vic", fmt.Sprintf("guess number %d", i), auth.Client{IP: "198.51.100.1"})
			return err
		})
		checked := 0
		for _, err := range errs {
			switch fault.KindOf(err) {
			case fault.Unauthenticated:
				checked++
			case fault.TooMany:
			default:
				t.Errorf("parallel sign-in: %v (want only wrong-password and locked answers)", err)
			}
		}
		if checked > 5 {
			t.Errorf("%d of 40 parallel guesses were checked; the limit is 5", checked)
		}
		if _, err := s.SignIn(ctx, "vic", "the right passphrase", auth.Client{IP: "198.51.100.1"}); !fault.Is(err, fault.TooMany) {
			t.Errorf("right password after the burst: %v, want the account locked", err)
		}
	})
}

func TestMixedSignInsNeverFail(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, open storetest.Opener) {
		s := serviceOn(t, open(t), nil)
		ctx := context.Background()
		mustUser(t, s, "wes", auth.RoleAnalyst, "the right passphrase")
		errs := parallel(24, func(i int) error {
			pw := "the right passphrase"
			if i%2 == 1 {
				pw = "a wrong passphrase"
			}
			_, err := s.SignIn(ctx, "wes", pw, auth.Client{IP: fmt.Sprintf("192.0.2.%d", i%4)})
			return err
		})
		for _, err := range errs {
			if err != nil && fault.KindOf(err) == fault.Internal {
				t.Errorf("sign-in under contention failed internally: %v", err)
			}
		}
	})
}

func TestTOTPCodeWorksOnceUnderRace(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, open storetest.Opener) {
		now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
		s := serviceOn(t, open(t), func() time.Time { return now })
		ctx := context.Background()
		u := mustUser(t, s, "xia", auth.RoleResponder, "the right passphrase")
		me := audit.Actor{UserID: u.ID, Name: u.Name}
		e, err := s.BeginTOTP(ctx, me, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := totp.GenerateCode(e.Secret, now)
		if err := s.ConfirmTOTP(ctx, me, u.ID, first); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Minute)
		code, _ := totp.GenerateCode(e.Secret, now)
		var pending []string
		for i := 0; i < 4; i++ {
			r, err := s.SignIn(ctx, "xia", "the right passphrase", auth.Client{IP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			pending = append(pending, r.Secret)
		}
		errs := parallel(len(pending), func(i int) error {
			_, err := s.CompleteTOTP(ctx, pending[i], code, auth.Client{IP: "192.0.2.1"})
			return err
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if k := fault.KindOf(err); k != fault.Unauthenticated && k != fault.TooMany {
				t.Errorf("CompleteTOTP: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("one code completed %d sign-ins, want exactly 1", ok)
		}
	})
}

func TestLastAdminUnderRace(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, open storetest.Opener) {
		s := serviceOn(t, open(t), nil)
		ctx := context.Background()
		for round := 0; round < 5; round++ {
			a := mustUser(t, s, fmt.Sprintf("a%d", round), auth.RoleAdmin, "a long enough passphrase")
			b := mustUser(t, s, fmt.Sprintf("b%d", round), auth.RoleAdmin, "a long enough passphrase")
			// Only these two are administrators: demote every other.
			us, _ := s.Users(ctx)
			for _, u := range us {
				if u.Role == auth.RoleAdmin && u.ID != a.ID && u.ID != b.ID {
					if err := s.SetRole(ctx, audit.System, u.ID, auth.RoleViewer); err != nil {
						t.Fatal(err)
					}
				}
			}
			parallel(2, func(i int) error {
				if i == 0 {
					return s.SetRole(ctx, audit.Actor{UserID: a.ID, Name: a.Name}, b.ID, auth.RoleViewer)
				}
				return s.SetRole(ctx, audit.Actor{UserID: b.ID, Name: b.Name}, a.ID, auth.RoleViewer)
			})
			us, _ = s.Users(ctx)
			admins := 0
			for _, u := range us {
				if u.Role == auth.RoleAdmin && !u.Disabled {
					admins++
				}
			}
			if admins != 1 {
				t.Fatalf("round %d: two admins demoting each other at once left %d admins, want 1", round, admins)
			}
		}
	})
}
