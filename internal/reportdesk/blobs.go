// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"context"
	"fmt"

	"github.com/koban-csirt/koban/internal/incident"
)

// AttachmentCounter counts report attachments by content; the Store is
// one.
type AttachmentCounter interface {
	CountDeskAttachments(ctx context.Context, sha256 string) (int, error)
}

// KeepReported wraps the evidence content store so that content a report
// still holds (an attachment not yet moved into an incident's evidence)
// is never removed: the evidence locker removes content when no evidence
// item keeps it (a disposal, a failed upload), and knows nothing of
// reports. Give the evidence locker the wrapped store; the report desk
// takes the same one or the bare one.
func KeepReported(b incident.Blobs, c AttachmentCounter) incident.Blobs {
	return keepReported{Blobs: b, c: c}
}

type keepReported struct {
	incident.Blobs
	c AttachmentCounter
}

// Remove removes the content unless a report still holds it, in which
// case it keeps it and reports success: for the caller, the content is no
// longer its own.
func (k keepReported) Remove(ctx context.Context, sha256 string) error {
	n, err := k.c.CountDeskAttachments(ctx, sha256)
	if err != nil {
		return fmt.Errorf("reportdesk: remove content %s: %w", sha256, err)
	}
	if n > 0 {
		return nil
	}
	return k.Blobs.Remove(ctx, sha256)
}
