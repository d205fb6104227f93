// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/incident"
	"github.com/koban-csirt/koban/internal/notify"
)

// The reminder job: every minute it asks the incident service which clock
// reminders are due (24 hours and 2 hours before each deadline, and at it)
// and e-mails each to the incident's assignees or, when nobody is assigned
// (or no assignee has an address), to the admins, each in their language.
// A reminder to a person is claimed in the store before sending and marked
// sent after the mail server accepted it, so it goes out once across
// restarts and nodes; a failed send releases the claim and the next run
// tries again.

// reminderSend delivers one e-mail to the addresses in to.
type reminderSend func(ctx context.Context, to []string, subject, body string) error

// reminderDeps is what the reminder job reads and writes.
type reminderDeps struct {
	Incidents *incident.Service
	// Users lists koban's users, for addresses, languages and the admins.
	Users func(ctx context.Context) ([]auth.User, error)
	// Catalog translates the mails.
	Catalog *i18n.Catalog
	// BaseURL, when set, links each mail to its incident.
	BaseURL string
	// Met says when a clock was met beyond what the incident itself tells
	// (nil: incident.DeadlineMet).
	Met incident.MetFunc
	// Lang is the language of users who chose none (default English).
	Lang i18n.Lang
}

// reminderEvery is how often serve runs the reminder job.
const reminderEvery = time.Minute

// runReminders sends due reminders at once and then every every, until ctx
// ends; it returns nil then. Failures are logged (without addresses or
// secrets) and retried on the next run.
func runReminders(ctx context.Context, svc reminderDeps, policy incident.Policy, send reminderSend, every time.Duration,
	now func() time.Time, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := remindOnce(ctx, svc, policy, send, now, log); err != nil && ctx.Err() == nil {
			log.Warn("reminders not checked", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// remindOnce sends the reminders due at now() once each.
func remindOnce(ctx context.Context, svc reminderDeps, policy incident.Policy, send reminderSend, now func() time.Time, log *slog.Logger) error {
	at := now()
	due, err := svc.Incidents.DueReminders(ctx, policy, at, svc.Met)
	if err != nil || len(due) == 0 {
		return err
	}
	users, err := svc.Users(ctx)
	if err != nil {
		return fmt.Errorf("reminders: users: %w", err)
	}
	byID := map[int64]auth.User{}
	var admins []auth.User
	for _, u := range users {
		if u.Disabled || u.Email == "" {
			continue
		}
		byID[u.ID] = u
		if u.Role == auth.RoleAdmin {
			admins = append(admins, u)
		}
	}
	for _, r := range due {
		to, assigned := reminderRecipients(r.Incident, byID, admins)
		if len(to) == 0 {
			log.Warn("reminder has nobody to go to", "incident_id", r.Incident.ID, "deadline", string(r.Deadline.Kind))
			continue
		}
		for _, u := range to {
			if err := remindOne(ctx, svc, send, r, u, assigned, at); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Warn("reminder not sent", "incident_id", r.Incident.ID, "user_id", u.ID,
					"deadline", string(r.Deadline.Kind), "error", err)
			}
		}
	}
	return nil
}

// reminderRecipients returns who gets a reminder about inc: its assignees
// who can receive mail, else the admins (assigned false).
func reminderRecipients(inc incident.Incident, byID map[int64]auth.User, admins []auth.User) ([]auth.User, bool) {
	var to []auth.User
	for _, id := range inc.Assignees {
		if u, ok := byID[id]; ok {
			to = append(to, u)
		}
	}
	if len(to) > 0 {
		return to, true
	}
	return admins, false
}

// remindOne claims, sends and marks one reminder to one person.
func remindOne(ctx context.Context, svc reminderDeps, send reminderSend, r incident.Reminder, u auth.User, assigned bool, now time.Time) error {
	ok, err := svc.Incidents.ClaimReminder(ctx, r, u.ID)
	if err != nil || !ok {
		return err
	}
	lang := i18n.Lang(u.Lang)
	if !lang.Valid() {
		lang = svc.Lang
		if !lang.Valid() {
			lang = i18n.English
		}
	}
	subject, body := reminderMail(svc.Catalog, lang, r, svc.BaseURL, assigned, now)
	if err := send(ctx, []string{u.Email}, subject, body); err != nil {
		// Released with a fresh context: a shutdown must not leave the
		// claim to block the reminder for ReminderClaimTTL.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := svc.Incidents.ReleaseReminder(rctx, r, u.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return svc.Incidents.ReminderSent(context.WithoutCancel(ctx), r, u.ID)
}

// reminderMail writes a reminder's subject and plain-text body in lang:
// "[koban] INC-2026-0001: PPC preliminary report (速報) due in 24 h
// (2026-11-25 23:59 JST)".
func reminderMail(cat *i18n.Catalog, lang i18n.Lang, r incident.Reminder, baseURL string, assigned bool, now time.Time) (string, string) {
	t := func(id string, args ...any) string { return cat.T(lang, id, args...) }
	d := r.Deadline
	what := t("incidentclock.kind." + string(d.Kind))
	due := incident.FormatDue(d, lang)
	var subject string
	switch {
	case r.Lead > 0:
		subject = t("reminder.subject_before", "ref", r.Incident.Ref, "deadline", what, "left", reminderSpan(t, r.Lead), "due", due)
	case now.Sub(d.Due) > 15*time.Minute:
		subject = t("reminder.subject_overdue", "ref", r.Incident.Ref, "deadline", what, "due", due)
	default:
		subject = t("reminder.subject_now", "ref", r.Incident.Ref, "deadline", what, "due", due)
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\n") }
	line(t("reminder.incident", "ref", r.Incident.Ref, "title", r.Incident.Title))
	line(t("reminder.deadline", "deadline", what, "due", due))
	kind := "reminder.internal"
	if d.Hard {
		kind = "reminder.legal"
	}
	line(t(kind))
	line(t(d.Basis, d.BasisArgs...))
	if baseURL != "" {
		line("")
		line(t("reminder.open", "url", strings.TrimSuffix(baseURL, "/")+"/incidents/"+url.PathEscape(r.Incident.Ref)))
	}
	line("")
	if assigned {
		line(t("reminder.why_assigned"))
	} else {
		line(t("reminder.why_admin"))
	}
	return subject, b.String()
}

// reminderSpan says how long is left, in whole hours or minutes.
func reminderSpan(t func(string, ...any) string, d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return t("reminder.hours", "count", int(d/time.Hour))
	}
	return t("reminder.minutes", "count", int((d+time.Minute-1)/time.Minute))
}

// newReminderMailer returns the send function of the reminder job: one
// plain-text mail per call through notify.smtp, with the e-mail channel's
// rules (STARTTLS required unless "tls" or, to a loopback host only,
// "none"). Its errors never hold the password.
func newReminderMailer(s config.NotifySMTP) (reminderSend, error) {
	cfg := notify.SMTPConfig{Host: s.Host, Port: s.Port, TLS: s.TLS, Username: s.Username, Password: s.Password.Reveal(),
		From: s.From, To: []string{"reminders@koban.invalid"}, Timeout: s.Timeout.D()}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify.smtp: %w", err)
	}
	port, timeout := cfg.Port, cfg.Timeout
	if timeout == 0 {
		timeout = notify.DefaultSMTPTimeout
	}
	opts := []gomail.Option{gomail.WithTimeout(timeout)}
	switch cfg.TLS {
	case notify.TLSImplicit:
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = 465
		}
	case notify.TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		if port == 0 {
			port = 25
		}
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		if port == 0 {
			port = 587
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(cfg.Username),
			gomail.WithPassword(cfg.Password))
	}
	return func(ctx context.Context, to []string, subject, body string) error {
		msg := gomail.NewMsg(gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingB64))
		if err := msg.From(cfg.From); err != nil {
			return fmt.Errorf("reminder mail: from: %w", err)
		}
		if err := msg.To(to...); err != nil {
			return fmt.Errorf("reminder mail: recipient: %w", err)
		}
		msg.Subject(subject)
		msg.SetDate()
		msg.SetMessageID()
		msg.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
		msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
		msg.SetUserAgent("koban")
		msg.SetBodyString(gomail.TypeTextPlain, body)
		c, err := gomail.NewClient(cfg.Host, opts...)
		if err != nil {
			return fmt.Errorf("reminder mail via %s: %w", cfg.Host, err)
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := c.DialAndSendWithContext(ctx, msg); err != nil {
			msg := strings.ReplaceAll(err.Error(), cfg.Password, "********")
			if cfg.Password == "" {
				msg = err.Error()
			}
			return fmt.Errorf("reminder mail via %s: %s", cfg.Host, msg)
		}
		return nil
	}, nil
}
