// SPDX-License-Identifier: Apache-2.0

package alert_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

// t0 has a microsecond part so that round trips prove the precision kept.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// clock is a settable clock for the service and router.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a Service on a fresh store with a clock at t0.
type env struct {
	svc   *alert.Service
	db    *store.DB
	clock *clock
}

func newEnv(t *testing.T, o alert.Options) env {
	t.Helper()
	return newEnvOn(t, storetest.OpenSQLite(t), o)
}

func newEnvOn(t *testing.T, db *store.DB, o alert.Options) env {
	t.Helper()
	c := &clock{t: t0}
	o.Now = c.Now
	return env{svc: alert.New(db, o), db: db, clock: c}
}

// user creates a koban user and returns the actor acting as it.
func (e env) user(t *testing.T, name string, role auth.Role) alert.Actor {
	t.Helper()
	u, err := e.db.CreateUser(context.Background(), auth.User{Name: name, Role: role, PasswordHash: "x",
		CreatedAt: t0, UpdatedAt: t0, PasswordChangedAt: t0})
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return alert.Actor{Actor: audit.Actor{UserID: u.ID, Name: u.Name, Via: audit.ViaWeb, IP: "192.0.2.10"}, Role: role}
}

// record records d and fails the test on error.
func (e env) record(t *testing.T, d alert.Detection) (alert.Alert, alert.Outcome) {
	t.Helper()
	a, o, err := e.svc.Record(context.Background(), d)
	if err != nil {
		t.Fatalf("Record(%s on %s/%s at %v): %v", d.RuleID, d.Host, d.User, d.Time, err)
	}
	return a, o
}

// evID returns a valid event id for the n-th test event.
func evID(n int) string {
	return event.DeriveID(t0.UnixNano()+int64(n), []byte{byte(n), byte(n >> 8)}).String()
}

// det returns a detection of rule on host and user at t0+offset with one
// event.
func det(rule, host, user string, offset time.Duration, n int) alert.Detection {
	return alert.Detection{Time: t0.Add(offset), Source: alert.SourceSigma, RuleID: rule, RuleTitle: "Title of " + rule,
		Level: alert.LevelMedium, Tags: []string{"attack.execution", "attack.t1059.001"}, Host: host, User: user,
		Fields:   []alert.KV{{Name: "Image", Value: `C:\Windows\System32\cmd.exe`}, {Name: "CommandLine", Value: "cmd /c whoami"}},
		EventIDs: []string{evID(n)}}
}

func detail(t *testing.T, e env, id int64) alert.Detail {
	t.Helper()
	d, err := e.svc.Alert(context.Background(), id)
	if err != nil {
		t.Fatalf("Alert(%d): %v", id, err)
	}
	return d
}
