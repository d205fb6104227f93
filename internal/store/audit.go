// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
)

const appendAuditSQL = `INSERT INTO audit_log (seq, at, actor_id, actor, via, token_id, ip, action, object,
	before_state, after_state, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AppendAudit seals e onto the end of the chain and stores it, in the
// caller's transaction when there is one. Appenders are serialised by the
// head row: its update locks it until commit.
func (db *DB) AppendAudit(ctx context.Context, e audit.Entry) error {
	err := db.Tx(ctx, func(ctx context.Context) error {
		var seq int64
		var prevHash string
		err := db.queryRow(ctx, `UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash`).Scan(&seq, &prevHash)
		if err != nil {
			return mapErr(err)
		}
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		e.Seal(seq-1, prevHash)
		if _, err := db.exec(ctx, appendAuditSQL, e.Seq, micros(e.Time), e.ActorID, e.Actor, string(e.Via), e.TokenID,
			e.IP, e.Action, e.Object, e.Before, e.After, e.PrevHash, e.Hash); err != nil {
			return err
		}
		_, err = db.exec(ctx, `UPDATE audit_head SET hash = ? WHERE id = 1`, e.Hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: append audit %s: %w", e.Action, err)
	}
	return nil
}

const auditColumns = `seq, at, actor_id, actor, via, token_id, ip, action, object, before_state, after_state, prev_hash, hash`

func scanAudit(s scanner) (audit.Entry, error) {
	var e audit.Entry
	var at int64
	var via string
	if err := s.Scan(&e.Seq, &at, &e.ActorID, &e.Actor, &via, &e.TokenID, &e.IP, &e.Action, &e.Object,
		&e.Before, &e.After, &e.PrevHash, &e.Hash); err != nil {
		return audit.Entry{}, mapErr(err)
	}
	e.Time, e.Via = fromMicros(at), audit.Via(via)
	return e, nil
}

// AuditHead returns the chain's recorded head.
func (db *DB) AuditHead(ctx context.Context) (audit.Head, error) {
	var h audit.Head
	if err := db.queryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash); err != nil {
		return audit.Head{}, fmt.Errorf("store: audit head: %w", mapErr(err))
	}
	return h, nil
}

// walkAudit calls fn for every audit entry up to seq upTo in sequence
// order, streaming.
func (db *DB) walkAudit(ctx context.Context, upTo int64, fn func(audit.Entry) error) error {
	rows, err := db.query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq <= ? ORDER BY seq`, upTo)
	if err != nil {
		return fmt.Errorf("store: walk audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("store: walk audit: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: walk audit: %w", mapErr(err))
	}
	return nil
}

// VerifyAudit walks the whole chain and returns the number of entries
// checked, the head it checked them against and, if the chain is broken, an
// *audit.Break naming the first altered or missing row. Entries appended
// while it runs are left for the next run: it checks the rows up to the head
// it read first (a row commits together with the head that counts it).
func (db *DB) VerifyAudit(ctx context.Context) (int64, audit.Head, error) {
	var h audit.Head
	var maxSeq int64
	// One statement sees one snapshot, so the head and the highest row agree
	// even while others append.
	err := db.queryRow(ctx, `SELECT audit_head.seq, audit_head.hash,
		(SELECT COALESCE(MAX(seq), 0) FROM audit_log) FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash, &maxSeq)
	if err != nil {
		return 0, h, fmt.Errorf("store: audit head: %w", mapErr(err))
	}
	var c audit.Checker
	if err := db.walkAudit(ctx, h.Seq, c.Add); err != nil {
		return 0, h, err
	}
	n, err := c.Finish(h)
	if err == nil && maxSeq > h.Seq {
		err = &audit.Break{Seq: h.Seq + 1, Reason: "rows exist beyond the recorded head (inserted directly)"}
	}
	return n, h, err
}

// AuditEntries returns entries matching f, newest first.
func (db *DB) AuditEntries(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var where []string
	var args []any
	if f.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Before)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if strings.HasSuffix(f.Action, ".") {
		where, args = append(where, "substr(action, 1, ?) = ?"), append(args, len(f.Action), f.Action)
	} else if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.Object != "" {
		where, args = append(where, "object = ?"), append(args, f.Object)
	}
	if f.Limit < 1 || f.Limit > 500 {
		f.Limit = 100
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("store: audit entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit entries: %w", mapErr(err))
	}
	return out, nil
}
