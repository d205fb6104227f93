// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/store"
)

// Shared by the tests of every incident area.

// withIncidents gives the server an incident service and an evidence
// locker on the env's store and clock, with the locker's files in a
// temporary directory.
func withIncidents(t *testing.T) func(*Options) {
	return func(o *Options) {
		db := o.Audit.(*store.DB)
		blobs, err := store.OpenBlobs(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		o.Incidents = incident.New(db, incident.Options{Now: o.Now,
			Assignable: func(role string) bool { return auth.Can(auth.Role(role), auth.PermIncidents) }})
		o.Evidence = incident.NewLocker(db, blobs, incident.LockerOptions{Now: o.Now, MaxSize: 1 << 20})
		o.Tx = db.Tx
	}
}

// incidentEnv is a web server with incidents and a responder, resp, signed
// in.
type incidentEnv struct {
	*testEnv
	inc     *incident.Service
	locker  *incident.Locker
	resp    auth.User
	session string
}

func newIncidentEnv(t *testing.T, opts ...func(*Options)) *incidentEnv {
	t.Helper()
	e := newEnv(t, append([]func(*Options){withIncidents(t)}, opts...)...)
	u := e.user("resp", auth.RoleResponder)
	return &incidentEnv{testEnv: e, inc: e.srv.opts.Incidents, locker: e.srv.opts.Evidence, resp: u, session: e.session("resp")}
}

// incActorOf is user u acting on incidents with the access of its role.
func incActorOf(u auth.User) incident.Actor {
	a := incident.Actor{}
	a.UserID, a.Name, a.IP = u.ID, u.Name, "192.0.2.1"
	switch {
	case auth.Can(u.Role, auth.PermIncidents):
		a.Access = incident.AccessFull
	case auth.Can(u.Role, auth.PermIncidentSummaries):
		a.Access = incident.AccessSummary
	}
	return a
}

// create opens an incident as resp and fails the test on error.
func (e *incidentEnv) create(title string, typ incident.Type) incident.Incident {
	e.t.Helper()
	inc, err := e.inc.Create(context.Background(), incActorOf(e.resp), incident.Draft{Input: incident.Input{Title: title, Type: typ}})
	if err != nil {
		e.t.Fatalf("Create(%q): %v", title, err)
	}
	return inc
}

// TestNavShowsOverdueTasks: an overdue task shows as a count beside
// Incidents on every page, for those who work on incidents only.
func TestNavShowsOverdueTasks(t *testing.T) {
	t.Parallel()
	e := newIncidentEnv(t)
	inc := e.create("Phishing mail to sales", incident.TypePhishing)
	if _, err := e.inc.AddTask(context.Background(), incActorOf(e.resp), inc.ID,
		incident.TaskInput{Title: "Block the sender", Phase: incident.PhaseContainment, Due: e.clock.now().Add(30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	e.user("vera", auth.RoleViewer)
	viewer := e.testEnv.session("vera")
	if body := bodyOf(t, e.do(req{path: "/settings", session: e.session})); strings.Contains(body, `id="nav-incidents-count"`) {
		t.Fatal("a task due in half an hour is shown as overdue")
	}
	e.clock.advance(45 * time.Minute)
	body := bodyOf(t, e.do(req{path: "/settings", session: e.session}))
	if !strings.Contains(body, `id="nav-incidents-count"`) || !strings.Contains(body, "1 overdue tasks") {
		t.Errorf("no overdue count beside Incidents after the due time:\n%s", body)
	}
	if body := bodyOf(t, e.do(req{path: "/settings", session: viewer})); strings.Contains(body, `id="nav-incidents-count"`) {
		t.Error("a viewer sees the overdue task count")
	}
}
