// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/fault"
)

// The playbook library is koban's built-in playbooks (embedded, read-only)
// merged with the custom ones admins copied and edited (stored). The rule
// for ids, chosen so that an admin can both add playbooks and adapt koban's
// own without incidents ever seeing two playbooks with one id:
//
//   - A copy gets a new id, "<id>-custom" by default, and sits beside the
//     original.
//   - An admin may instead give a custom playbook the id of a built-in one:
//     while it is enabled it replaces the built-in everywhere (the pages say
//     so); disabling or deleting it gives the built-in back.
//   - A disabled custom playbook is kept and readable but not offered.
//
// The web layer lets only admins (auth.PermPlaybooks) reach the changing
// methods; the Service requires AccessFull for every method here.

// PlaybookOrigin says where a playbook of the library comes from.
type PlaybookOrigin string

// The origins.
const (
	// OriginBuiltIn is koban's own, embedded playbook.
	OriginBuiltIn PlaybookOrigin = "builtin"
	// OriginCustom is a playbook an admin copied and edited.
	OriginCustom PlaybookOrigin = "custom"
)

// LibraryEntry is one playbook of the library as the admin pages list it.
type LibraryEntry struct {
	ID     string
	Origin PlaybookOrigin
	// Playbook is the parsed playbook. It is nil for a custom playbook
	// whose text no longer validates (after an upgrade made the rules
	// stricter): Problems says why, and it is not offered.
	Playbook *Playbook
	Problems PlaybookProblems
	// Custom is the stored row of a custom playbook; nil for a built-in.
	Custom *CustomPlaybook
	// Replaces: a custom playbook with the id of a built-in one.
	Replaces bool
	// Replaced: a built-in playbook that an enabled, valid custom one
	// replaces.
	Replaced bool
	// Disabled: a custom playbook that is not offered.
	Disabled bool
}

// Offered reports whether incidents may apply the playbook.
func (e LibraryEntry) Offered() bool { return e.Playbook != nil && !e.Disabled && !e.Replaced }

// Version is the stored row's version for a custom playbook, 0 for a
// built-in.
func (e LibraryEntry) Version() int64 {
	if e.Custom == nil {
		return 0
	}
	return e.Custom.Version
}

// Source returns the playbook's YAML text.
func (e LibraryEntry) Source() string {
	if e.Custom != nil {
		return e.Custom.Source
	}
	b, _ := PlaybookSource(e.ID)
	return string(b)
}

// library reads the stored playbooks and merges them with the built-in
// ones, by id: a built-in replaced by a custom playbook with its id comes
// right after it.
func (s *Service) library(ctx context.Context) ([]LibraryEntry, error) {
	builtIn, err := Library()
	if err != nil {
		return nil, err
	}
	custom, err := s.store.CustomPlaybooks(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]int{}
	var out []LibraryEntry
	for _, pb := range builtIn {
		byID[pb.ID] = len(out)
		out = append(out, LibraryEntry{ID: pb.ID, Origin: OriginBuiltIn, Playbook: pb})
	}
	for i := range custom {
		c := &custom[i]
		e := LibraryEntry{ID: c.ID, Origin: OriginCustom, Custom: c, Disabled: c.Disabled}
		pb, err := ParsePlaybook("", []byte(c.Source))
		if err != nil {
			e.Problems = asPlaybookProblems(err)
		} else {
			e.Playbook = pb
		}
		if j, ok := byID[c.ID]; ok {
			e.Replaces = true
			if e.Playbook != nil && !e.Disabled {
				out[j].Replaced = true
			}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Origin == OriginBuiltIn && out[j].Origin == OriginCustom
	})
	return out, nil
}

// Playbooks returns the playbooks incidents may apply, sorted by id: the
// built-in ones, except those an enabled custom playbook replaces, and the
// enabled custom ones that validate. Every page that offers playbooks
// calls it; it needs no actor because it reveals nothing but the library.
// The playbooks are shared: treat them as read-only.
func (s *Service) Playbooks(ctx context.Context) ([]*Playbook, error) {
	lib, err := s.library(ctx)
	if err != nil {
		return nil, wrap(err, "playbooks")
	}
	var out []*Playbook
	for _, e := range lib {
		if e.Offered() {
			out = append(out, e.Playbook)
		}
	}
	return out, nil
}

// PlaybookLibrary returns every playbook, built-in and custom, offered or
// not, by id (a built-in before the custom playbook that replaces it).
//
// Errors: Forbidden without AccessFull.
func (s *Service) PlaybookLibrary(ctx context.Context, a Actor) ([]LibraryEntry, error) {
	if err := a.needFull(); err != nil {
		return nil, err
	}
	lib, err := s.library(ctx)
	if err != nil {
		return nil, wrap(err, "playbook library")
	}
	return lib, nil
}

// Playbook returns the playbook a reader of id means: an enabled custom
// playbook with that id, else the built-in one, else a disabled custom one.
//
// Errors: Forbidden without AccessFull; NotFound "playbookui.not_found".
func (s *Service) Playbook(ctx context.Context, a Actor, id string) (LibraryEntry, error) {
	if err := a.needFull(); err != nil {
		return LibraryEntry{}, err
	}
	lib, err := s.library(ctx)
	if err != nil {
		return LibraryEntry{}, wrap(err, "playbook "+cleanLine(id, maxIDLen))
	}
	best := -1
	rank := func(e LibraryEntry) int {
		switch {
		case e.Origin == OriginCustom && e.Offered():
			return 3
		case e.Origin == OriginBuiltIn:
			return 2
		}
		return 1
	}
	for i, e := range lib {
		if e.ID == id && (best < 0 || rank(e) > rank(lib[best])) {
			best = i
		}
	}
	if best < 0 {
		return LibraryEntry{}, fault.New(fault.NotFound, "playbookui.not_found", "id", cleanLine(id, maxIDLen))
	}
	return lib[best], nil
}

// customPlaybook reads the stored playbook id, checking its version
// (prevVersion 0 skips the check).
func (s *Service) customPlaybook(ctx context.Context, id string, prevVersion int64) (CustomPlaybook, error) {
	cur, err := s.store.CustomPlaybook(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return CustomPlaybook{}, fault.Wrap(fault.NotFound, err, "playbookui.not_custom", "id", cleanLine(id, maxIDLen))
	} else if err != nil {
		return CustomPlaybook{}, err
	}
	if prevVersion != 0 && cur.Version != prevVersion {
		return CustomPlaybook{}, fault.New(fault.Conflict, "playbookui.changed", "id", cur.ID)
	}
	return cur, nil
}

// CopySuffix is what a copy's id adds to the original's by default.
const CopySuffix = "-custom"

// SuggestCopyID returns the id a copy of playbook from gets by default:
// "<from>-custom", or "<from>-custom-2" and so on when that is taken,
// shortened to the longest id allowed.
func (s *Service) SuggestCopyID(ctx context.Context, a Actor, from string) (string, error) {
	lib, err := s.PlaybookLibrary(ctx, a)
	if err != nil {
		return "", err
	}
	taken := map[string]bool{}
	for _, e := range lib {
		taken[e.ID] = true
	}
	for n := 1; ; n++ {
		suffix := CopySuffix
		if n > 1 {
			suffix = fmt.Sprintf("%s-%d", CopySuffix, n)
		}
		base := strings.TrimSuffix(from, CopySuffix)
		if len(base)+len(suffix) > maxPlaybookIDLength {
			base = base[:maxPlaybookIDLength-len(suffix)]
		}
		if id := base + suffix; !taken[id] {
			return id, nil
		}
	}
}

// CopyPlaybook stores a copy of playbook from (as Playbook finds it) under
// newID, with the original's text and comments and only its id changed.
// newID may be a built-in playbook's id: the copy then replaces it.
//
// Errors: Forbidden; NotFound when from does not exist; Invalid
// "playbookui.bad_id" (field "id") for a malformed newID; Conflict
// "playbookui.exists" when a custom playbook has newID already.
func (s *Service) CopyPlaybook(ctx context.Context, a Actor, from, newID string) (CustomPlaybook, error) {
	if err := a.needFull(); err != nil {
		return CustomPlaybook{}, err
	}
	newID = strings.TrimSpace(newID)
	if !playbookIDPattern.MatchString(newID) {
		return CustomPlaybook{}, fault.InvalidField("id", "playbookui.bad_id", "value", cleanLine(newID, maxIDLen), "max", maxPlaybookIDLength)
	}
	var out CustomPlaybook
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		src, err := s.Playbook(ctx, a, from)
		if err != nil {
			return err
		}
		text, err := renamePlaybook(src.Source(), newID)
		if err != nil {
			return fault.Wrap(fault.Invalid, err, "playbookui.cannot_copy", "id", src.ID)
		}
		if _, err := ParsePlaybook("", []byte(text)); err != nil {
			return fault.Wrap(fault.Invalid, err, "playbookui.cannot_copy", "id", src.ID)
		}
		now := s.nowUTC()
		out = CustomPlaybook{ID: newID, Source: text, CopiedFrom: src.ID, Version: 1,
			CreatedByID: a.UserID, CreatedBy: a.Name, CreatedAt: now, UpdatedByID: a.UserID, UpdatedBy: a.Name, UpdatedAt: now}
		if err := s.store.CreateCustomPlaybook(ctx, out); fault.Is(err, fault.Conflict) {
			return fault.Wrap(fault.Conflict, err, "playbookui.exists", "id", newID)
		} else if err != nil {
			return err
		}
		return s.auditPlaybook(ctx, a, "playbook.copy", newID, nil, out, now)
	})
	if err != nil {
		return CustomPlaybook{}, wrap(err, "copy playbook "+cleanLine(from, maxIDLen))
	}
	return out, nil
}

// SavePlaybook replaces the text of custom playbook id with source, which
// must parse and validate and keep the id. prevVersion is the version the
// editor loaded.
//
// Errors: Forbidden; NotFound; Conflict "playbookui.changed" when someone
// saved in between; a PlaybookProblems error (Invalid, with lines) when
// the text has problems: use errors.As to list them.
func (s *Service) SavePlaybook(ctx context.Context, a Actor, id, source string, prevVersion int64) (CustomPlaybook, error) {
	if err := a.needFull(); err != nil {
		return CustomPlaybook{}, err
	}
	source = strings.ReplaceAll(source, "\r\n", "\n")
	pb, err := ParsePlaybook("", []byte(source))
	if err != nil {
		return CustomPlaybook{}, fault.Wrap(fault.Invalid, err, "playbookui.has_problems")
	}
	if pb.ID != id {
		line, col := playbookIDLine(source)
		probs := PlaybookProblems{{Line: line, Col: col, Path: "id", Msg: "playbookui.id_changed", Args: []any{"id", id, "value", pb.ID}}}
		return CustomPlaybook{}, fault.Wrap(fault.Invalid, probs, "playbookui.has_problems")
	}
	var out CustomPlaybook
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.customPlaybook(ctx, id, prevVersion)
		if err != nil {
			return err
		}
		if cur.Source == source {
			out = cur
			return nil
		}
		now := s.nowUTC()
		out = cur
		out.Source, out.Version, out.UpdatedByID, out.UpdatedBy, out.UpdatedAt = source, cur.Version+1, a.UserID, a.Name, now
		return s.storeChange(ctx, a, "playbook.update", cur, out, now)
	})
	if err != nil {
		return CustomPlaybook{}, wrap(err, "save playbook "+cleanLine(id, maxIDLen))
	}
	return out, nil
}

// SetPlaybookDisabled disables or enables custom playbook id.
//
// Errors: Forbidden; NotFound; Conflict "playbookui.changed"; Invalid
// "playbookui.invalid_enable" when enabling one whose text no longer
// validates.
func (s *Service) SetPlaybookDisabled(ctx context.Context, a Actor, id string, disabled bool, prevVersion int64) (CustomPlaybook, error) {
	if err := a.needFull(); err != nil {
		return CustomPlaybook{}, err
	}
	var out CustomPlaybook
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.customPlaybook(ctx, id, prevVersion)
		if err != nil {
			return err
		}
		if cur.Disabled == disabled {
			out = cur
			return nil
		}
		if !disabled {
			if _, err := ParsePlaybook("", []byte(cur.Source)); err != nil {
				return fault.Wrap(fault.Invalid, err, "playbookui.invalid_enable", "id", cur.ID)
			}
		}
		now := s.nowUTC()
		out = cur
		out.Disabled, out.Version, out.UpdatedByID, out.UpdatedBy, out.UpdatedAt = disabled, cur.Version+1, a.UserID, a.Name, now
		action := "playbook.enable"
		if disabled {
			action = "playbook.disable"
		}
		return s.storeChange(ctx, a, action, cur, out, now)
	})
	if err != nil {
		return CustomPlaybook{}, wrap(err, "disable playbook "+cleanLine(id, maxIDLen))
	}
	return out, nil
}

// DeletePlaybook deletes custom playbook id. Tasks an incident already
// created from it stay; the incident's "what to do next" panel no longer
// finds the playbook (or finds the built-in it replaced).
//
// Errors: Forbidden; NotFound; Conflict "playbookui.changed".
func (s *Service) DeletePlaybook(ctx context.Context, a Actor, id string, prevVersion int64) error {
	if err := a.needFull(); err != nil {
		return err
	}
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		cur, err := s.customPlaybook(ctx, id, prevVersion)
		if err != nil {
			return err
		}
		if err := s.store.DeleteCustomPlaybook(ctx, id, cur.Version); fault.Is(err, fault.NotFound) {
			return fault.Wrap(fault.Conflict, err, "playbookui.changed", "id", cur.ID)
		} else if err != nil {
			return err
		}
		return s.auditPlaybook(ctx, a, "playbook.delete", id, cur, nil, s.nowUTC())
	})
	if err != nil {
		return wrap(err, "delete playbook "+cleanLine(id, maxIDLen))
	}
	return nil
}

// storeChange stores next over cur and audits the change.
func (s *Service) storeChange(ctx context.Context, a Actor, action string, cur, next CustomPlaybook, now time.Time) error {
	if err := s.store.UpdateCustomPlaybook(ctx, next, cur.Version); fault.Is(err, fault.NotFound) {
		return fault.Wrap(fault.Conflict, err, "playbookui.changed", "id", cur.ID)
	} else if err != nil {
		return err
	}
	return s.auditPlaybook(ctx, a, action, cur.ID, cur, next, now)
}

// playbookView is what the audit trail records of a custom playbook: its
// text by digest and size (the text itself can be half a megabyte).
type playbookView struct {
	ID         string `json:"id"`
	CopiedFrom string `json:"copied_from,omitempty"`
	Disabled   bool   `json:"disabled,omitempty"`
	SHA256     string `json:"sha256"`
	Bytes      int    `json:"bytes"`
	Version    int64  `json:"version"`
}

func (s *Service) auditPlaybook(ctx context.Context, a Actor, action, id string, before, after any, now time.Time) error {
	view := func(v any) any {
		c, ok := v.(CustomPlaybook)
		if !ok {
			return nil
		}
		sum := sha256.Sum256([]byte(c.Source))
		return playbookView{ID: c.ID, CopiedFrom: c.CopiedFrom, Disabled: c.Disabled, SHA256: hex.EncodeToString(sum[:]),
			Bytes: len(c.Source), Version: c.Version}
	}
	e := audit.New(a.Actor, action, "playbook:"+id, view(before), view(after))
	e.Time = now
	return s.store.AppendAudit(ctx, e)
}

// playbookIDLineRE finds the top-level id of a playbook in block style.
var playbookIDLineRE = regexp.MustCompile(`(?m)^id:[ \t]*("[^"\n]*"|'[^'\n]*'|[^#\n]*?)[ \t]*(#.*)?$`)

// playbookIDLine returns where the top-level id's value is, or 0, 0.
func playbookIDLine(source string) (int, int) {
	loc := playbookIDLineRE.FindStringSubmatchIndex(source)
	if loc == nil {
		return 0, 0
	}
	return strings.Count(source[:loc[0]], "\n") + 1, loc[2] - loc[0] + 1
}

// renamePlaybook returns source with its top-level id set to id. A
// block-style "id:" line is rewritten in place, which keeps every comment;
// any other layout is re-encoded through the YAML library.
func renamePlaybook(source, id string) (string, error) {
	if loc := playbookIDLineRE.FindStringSubmatchIndex(source); loc != nil {
		return source[:loc[2]] + id + source[loc[3]:], nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(source), &doc); err != nil {
		return "", err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("incident: playbook is not a mapping")
	}
	m := doc.Content[0]
	found := false
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "id" {
			m.Content[i+1].SetString(id)
			found = true
		}
	}
	if !found {
		return "", fmt.Errorf("incident: playbook has no id")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	return b.String(), enc.Close()
}
