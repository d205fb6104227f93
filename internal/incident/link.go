// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"context"
	"slices"

	"github.com/koban-csirt/koban/internal/fault"
)

// Link relates incident from to incident to: related, from a duplicate of
// to, or to the parent of from. Both incidents have one tenant; from must be
// open. An incident has at most one parent and is a duplicate of at most
// one incident, and parents never form a cycle. Both incidents' timelines
// record the link.
//
// Errors: Forbidden; NotFound (from); Conflict "incident.closed",
// "incident.link_exists", "incident.link_taken", "incident.link_cycle";
// Invalid "incident.link_self", "incident.link_target_unknown", an unknown
// kind.
func (s *Service) Link(ctx context.Context, a Actor, from, to int64, kind LinkKind) error {
	if err := a.needFull(); err != nil {
		return err
	}
	if !kind.Valid() {
		return fault.InvalidField("kind", "incident.link_kind_invalid", "value", cleanLine(string(kind), maxIDLen))
	}
	if from == to {
		return fault.InvalidField("to", "incident.link_self")
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		src, dst, err := s.linkEnds(ctx, from, to)
		if err != nil {
			return err
		}
		links, err := s.store.IncidentLinks(ctx, from)
		if err != nil {
			return err
		}
		for _, l := range links {
			switch {
			case l.Other.ID == to && l.Kind == kind && (!l.Reverse || kind == LinkRelated):
				return fault.New(fault.Conflict, "incident.link_exists", "ref", dst.Ref)
			case !l.Reverse && l.Kind == kind && kind != LinkRelated:
				return fault.New(fault.Conflict, "incident.link_taken", "ref", l.Other.Ref)
			}
		}
		if kind != LinkRelated {
			if err := s.noCycle(ctx, from, to, kind); err != nil {
				return err
			}
		}
		now := s.nowUTC()
		if err := s.store.AddIncidentLink(ctx, Link{From: from, To: to, Kind: kind, CreatedAt: now,
			AuthorID: a.UserID, Author: a.Name}); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, from, EntryLink, now, "incident.timeline.linked_"+string(kind), "ref", dst.Ref); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, to, EntryLink, now, "incident.timeline.linked_by_"+string(kind), "ref", src.Ref); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.link", from, nil, linkView{To: to, Kind: kind}, now)
	})
	if err != nil {
		return wrap(err, "link", from)
	}
	return nil
}

// linkEnds reads the two ends of a link to be made or removed: from must
// exist and be open, to must exist in from's tenant.
func (s *Service) linkEnds(ctx context.Context, from, to int64) (Incident, Incident, error) {
	src, err := s.open(ctx, Ref{ID: from})
	if err != nil {
		return Incident{}, Incident{}, err
	}
	dst, err := s.store.Incident(ctx, to)
	if fault.Is(err, fault.NotFound) || (err == nil && dst.Tenant != src.Tenant) {
		return Incident{}, Incident{}, fault.InvalidField("to", "incident.link_target_unknown", "id", to)
	} else if err != nil {
		return Incident{}, Incident{}, err
	}
	return src, dst, nil
}

// maxLinkDepth bounds the walk up a chain of parents or duplicates.
const maxLinkDepth = 100

// noCycle refuses a parent or duplicate link from → to when to already
// leads back to from through links of that kind.
func (s *Service) noCycle(ctx context.Context, from, to int64, kind LinkKind) error {
	at := to
	for range maxLinkDepth {
		if at == from {
			return fault.New(fault.Conflict, "incident.link_cycle")
		}
		links, err := s.store.IncidentLinks(ctx, at)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(links, func(l Linked) bool { return !l.Reverse && l.Kind == kind })
		if i < 0 {
			return nil
		}
		at = links[i].Other.ID
	}
	return fault.New(fault.Conflict, "incident.link_cycle")
}

// Unlink removes a link made by Link (a related link either way round).
//
// Errors: Forbidden; NotFound (from, or no such link); Conflict
// "incident.closed"; Invalid for an unknown kind or target.
func (s *Service) Unlink(ctx context.Context, a Actor, from, to int64, kind LinkKind) error {
	if err := a.needFull(); err != nil {
		return err
	}
	if !kind.Valid() {
		return fault.InvalidField("kind", "incident.link_kind_invalid", "value", cleanLine(string(kind), maxIDLen))
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		src, dst, err := s.linkEnds(ctx, from, to)
		if err != nil {
			return err
		}
		l := Link{From: from, To: to, Kind: kind}
		err = s.store.DeleteIncidentLink(ctx, l)
		if fault.Is(err, fault.NotFound) && kind == LinkRelated {
			err = s.store.DeleteIncidentLink(ctx, Link{From: to, To: from, Kind: kind})
		}
		if fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.NotFound, err, "incident.link_not_found", "ref", dst.Ref)
		} else if err != nil {
			return err
		}
		now := s.nowUTC()
		if err := s.logEntry(ctx, a, from, EntryLink, now, "incident.timeline.unlinked", "ref", dst.Ref, "kind", string(kind)); err != nil {
			return err
		}
		if err := s.logEntry(ctx, a, to, EntryLink, now, "incident.timeline.unlinked", "ref", src.Ref, "kind", string(kind)); err != nil {
			return err
		}
		return s.audit(ctx, a, "incident.unlink", from, linkView{To: to, Kind: kind}, nil, now)
	})
	if err != nil {
		return wrap(err, "unlink", from)
	}
	return nil
}

// linkView is what the audit trail records of a link.
type linkView struct {
	To   int64    `json:"to"`
	Kind LinkKind `json:"kind"`
}
