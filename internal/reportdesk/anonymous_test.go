// SPDX-License-Identifier: Apache-2.0

package reportdesk_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/reportdesk"
)

func TestAnonymous(t *testing.T) {
	e := newEnv(t, reportdesk.Options{Anonymous: true, AnonymousLimit: 2, AnonymousWindow: time.Hour})
	ctx := context.Background()
	sub := phishing()
	sub.Anonymous = true
	for i := range 2 {
		if err := e.desk.Admit("198.51.100.9"); err != nil {
			t.Fatalf("Admit #%d: %v", i+1, err)
		}
	}
	err := e.desk.Admit("198.51.100.9")
	wantFault(t, "Admit #3", err, fault.TooMany, "reportdesk.too_many")
	var ra reportdesk.RetryAfter
	if !errors.As(err, &ra) || time.Duration(ra) != time.Hour {
		t.Errorf("Admit #3 retry after %v, want 1h", time.Duration(ra))
	}
	if err := e.desk.Admit("198.51.100.10"); err != nil {
		t.Errorf("Admit(another address): %v", err)
	}
	e.clock.Add(time.Hour)
	if err := e.desk.Admit("198.51.100.9"); err != nil {
		t.Errorf("Admit after the window: %v", err)
	}
	rc := e.submit(t, incident.Actor{Actor: audit.Actor{Name: "anonymous", Via: audit.ViaWeb, IP: "198.51.100.9"}}, sub, "mail.eml", eml)
	if rc.Token == "" || rc.Report.ReporterID != 0 || rc.Report.Reporter != "" || rc.Report.TokenHash == "" || rc.Report.TokenHash == rc.Token {
		t.Fatalf("anonymous receipt = %+v", rc)
	}
	got, err := e.desk.StatusByToken(ctx, rc.Token)
	if err != nil || got.ID != rc.Report.ID {
		t.Errorf("StatusByToken = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "x", rc.Token[:len(rc.Token)-1] + "A", rc.Report.TokenHash} {
		if bad == rc.Token {
			continue
		}
		_, err := e.desk.StatusByToken(ctx, bad)
		wantFault(t, "StatusByToken("+bad+")", err, fault.NotFound, "reportdesk.not_found")
	}
	entries, err := e.db.AuditEntries(ctx, audit.Filter{Action: "reportdesk.submit"})
	if err != nil || len(entries) != 1 || entries[0].Actor != "anonymous" || entries[0].IP != "" {
		t.Errorf("anonymous audit = %+v, %v; want actor anonymous without address", entries, err)
	}
	inc, err := e.desk.OpenIncident(ctx, e.resp, rc.Report.ID, reportdesk.DraftFor(rc.Report))
	if err != nil {
		t.Fatalf("OpenIncident(anonymous): %v", err)
	}
	ev, err := e.locker.List(ctx, inc.ID)
	if err != nil || len(ev) != 1 || ev[0].CollectedBy != "anonymous" {
		t.Errorf("evidence of an anonymous report = %+v, %v", ev, err)
	}
	if off := newEnv(t, reportdesk.Options{}); true {
		_, err := off.desk.StatusByToken(ctx, rc.Token)
		wantFault(t, "StatusByToken(desk without anonymous)", err, fault.NotFound, "reportdesk.not_found")
		wantFault(t, "Admit(desk without anonymous)", off.desk.Admit("192.0.2.1"), fault.NotFound, "reportdesk.anonymous_off")
	}
}
