// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/incident"
)

// Submitting a report: its attachments are staged into the content store
// first, as the form streams them, then the report is recorded.

// Receipt is what a submitted report gives back.
type Receipt struct {
	Report Report
	// Token is an anonymous report's status token, shown to the reporter
	// once: only its hash is kept.
	Token string
}

// SizeText writes a size in bytes for people: "25 MB", "512 KB",
// "300 bytes" (binary units, as file managers show them).
func SizeText(n int64) string {
	switch {
	case n >= 1<<20:
		if n%(1<<20) == 0 {
			return strconv.FormatInt(n>>20, 10) + " MB"
		}
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt((n+(1<<10)-1)>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Admit counts an anonymous submission from client address ip and refuses
// it past the limit: TooMany "reportdesk.too_many" whose chain holds a
// RetryAfter; NotFound "reportdesk.anonymous_off" when the desk takes no
// anonymous reports. Call it before reading the submission.
func (s *Service) Admit(ip string) error {
	if !s.anonymous {
		return fault.New(fault.NotFound, "reportdesk.anonymous_off")
	}
	if wait, ok := s.limit.Allow(ip, s.now()); !ok {
		return &fault.Error{Kind: fault.TooMany, Msg: "reportdesk.too_many", Args: []any{"minutes", minutes(wait)},
			Err: RetryAfter(wait)}
	}
	return nil
}

// minutes rounds d up to whole minutes, at least one.
func minutes(d time.Duration) int {
	return max(1, int((d+time.Minute-1)/time.Minute))
}

// Stage streams one attachment into the content store under the size
// limit, before the report it belongs to is submitted, and returns it
// without an id. Pass what Stage returned to Submit, which records it, or
// to Discard.
//
// Errors: Invalid "reportdesk.file_empty", TooLarge "reportdesk.file_too_large"
// (field "attachment"); either leaves nothing behind.
func (s *Service) Stage(ctx context.Context, name string, r io.Reader) (Attachment, error) {
	d, size, err := s.blobs.Put(ctx, r, s.maxSize)
	switch {
	case fault.Is(err, fault.TooLarge):
		f := fault.InvalidField("attachment", "reportdesk.file_too_large", "name", incident.CleanName(name), "max", SizeText(s.maxSize))
		f.Kind, f.Err = fault.TooLarge, err
		return Attachment{}, f
	case fault.Is(err, fault.Invalid):
		f := fault.InvalidField("attachment", "reportdesk.file_empty", "name", incident.CleanName(name))
		f.Err = err
		return Attachment{}, f
	case err != nil:
		return Attachment{}, fmt.Errorf("reportdesk: stage %q: %w", incident.CleanName(name), err)
	}
	return Attachment{Name: incident.CleanName(name), Size: size, Digests: d, CreatedAt: s.nowUTC()}, nil
}

// Discard removes the content of staged attachments that were not
// submitted, unless a report or an evidence item has the same content.
// Failures are logged: the content is then left behind, unreferenced.
func (s *Service) Discard(ctx context.Context, staged []Attachment) {
	seen := map[string]bool{}
	for _, a := range staged {
		if a.SHA256 == "" || seen[a.SHA256] {
			continue
		}
		seen[a.SHA256] = true
		err := s.store.Tx(ctx, func(ctx context.Context) error {
			n, err := s.store.CountDeskAttachments(ctx, a.SHA256)
			if err != nil || n > 0 {
				return err
			}
			if n, err = s.store.CountEvidenceBySHA256(ctx, a.SHA256); err != nil || n > 0 {
				return err
			}
			if err := s.blobs.Remove(ctx, a.SHA256); err != nil && !fault.Is(err, fault.NotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			s.log.WarnContext(ctx, "report attachment of a failed submission left behind", "sha256", a.SHA256, "error", err)
		}
	}
}

// Submit records a report with the attachments Stage stored, numbered
// RPT-<year>-<n>, with an audit entry. A signed-in reporter (a.UserID)
// is recorded as such; an anonymous submission records no user and no
// client address, and its Receipt carries the status token. On any error
// the staged content is discarded.
//
// Errors: Forbidden "reportdesk.sign_in" (no user and not anonymous);
// NotFound "reportdesk.anonymous_off"; Invalid, field by field (kind,
// what, when, where, contact; attachment for too many files).
func (s *Service) Submit(ctx context.Context, a incident.Actor, sub Submission, staged []Attachment) (Receipt, error) {
	rc, err := s.submit(ctx, a, sub, staged)
	if err != nil {
		s.Discard(context.WithoutCancel(ctx), staged)
		return Receipt{}, err
	}
	return rc, nil
}

func (s *Service) submit(ctx context.Context, a incident.Actor, sub Submission, staged []Attachment) (Receipt, error) {
	switch {
	case sub.Anonymous && !s.anonymous:
		return Receipt{}, fault.New(fault.NotFound, "reportdesk.anonymous_off")
	case !sub.Anonymous && a.UserID == 0:
		return Receipt{}, fault.New(fault.Forbidden, "reportdesk.sign_in")
	}
	sub, err := sub.check()
	var errs fault.List
	if err != nil {
		errs = fault.Faults(err)
	}
	if len(staged) > s.maxFiles {
		errs = append(errs, fault.InvalidField("attachment", "reportdesk.too_many_files", "max", s.maxFiles))
	}
	for _, at := range staged {
		if at.SHA256 == "" || at.Size <= 0 {
			return Receipt{}, fmt.Errorf("reportdesk: submit: attachment %q was not staged", at.Name)
		}
	}
	if err := errs.Err(); err != nil {
		return Receipt{}, err
	}
	now := s.nowUTC()
	r := Report{Tenant: sub.Tenant, Kind: sub.Kind, What: sub.What, When: sub.When, Where: sub.Where,
		Contact: sub.Contact, Status: StatusReceived, Version: 1, CreatedAt: now, UpdatedAt: now}
	for _, at := range staged {
		at.ID, at.ReportID, at.EvidenceID, at.CreatedAt = 0, 0, 0, now
		r.Attachments = append(r.Attachments, at)
	}
	var rc Receipt
	actor := a.Actor
	if sub.Anonymous {
		// Nothing that names the reporter is kept, not even the address.
		actor = audit.Actor{Name: "anonymous", Via: a.Via}
		if rc.Token, r.TokenHash, err = newToken(); err != nil {
			return Receipt{}, fmt.Errorf("reportdesk: submit: %w", err)
		}
	} else {
		r.ReporterID, r.Reporter = a.UserID, a.Name
	}
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		n, err := s.store.NextDeskReportNumber(ctx, r.Tenant, now.In(s.loc).Year())
		if err != nil {
			return err
		}
		r.Ref = FormatRef(now.In(s.loc).Year(), n)
		if r, err = s.store.CreateDeskReport(ctx, r); err != nil {
			return err
		}
		return s.audit(ctx, actor, "reportdesk.submit", r, nil, now)
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("reportdesk: submit: %w", err)
	}
	rc.Report = r
	return rc, nil
}

// newToken returns a random status token and its hex SHA-256.
func newToken() (token, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
