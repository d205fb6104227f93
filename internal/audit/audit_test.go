// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"testing"
	"time"
)

func chain(n int) ([]Entry, Head) {
	var es []Entry
	var prevSeq int64
	prevHash := ""
	t0 := time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC)
	for i := 0; i < n; i++ {
		e := New(Actor{UserID: 1, Name: "alice", Via: ViaWeb, IP: "192.0.2.1"}, "user.update", Object("user", int64(i)), map[string]int{"v": i}, map[string]int{"v": i + 1})
		e.Time = t0.Add(time.Duration(i) * time.Second)
		e.Seal(prevSeq, prevHash)
		prevSeq, prevHash = e.Seq, e.Hash
		es = append(es, e)
	}
	return es, Head{Seq: prevSeq, Hash: prevHash}
}

func check(es []Entry, h Head) (int64, error) {
	var c Checker
	for _, e := range es {
		if err := c.Add(e); err != nil {
			return 0, err
		}
	}
	return c.Finish(h)
}

func TestChecker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(es []Entry, h Head) ([]Entry, Head)
		wantSeq int64 // 0: intact
	}{
		{"intact", func(es []Entry, h Head) ([]Entry, Head) { return es, h }, 0},
		{"empty", func([]Entry, Head) ([]Entry, Head) { return nil, Head{} }, 0},
		{"edited after", func(es []Entry, h Head) ([]Entry, Head) { es[2].After = `{"v":99}`; return es, h }, 3},
		{"edited actor", func(es []Entry, h Head) ([]Entry, Head) { es[0].Actor = "mallory"; return es, h }, 1},
		{"edited time", func(es []Entry, h Head) ([]Entry, Head) { es[4].Time = es[4].Time.Add(time.Microsecond); return es, h }, 5},
		{"rewritten with new hash", func(es []Entry, h Head) ([]Entry, Head) {
			es[1].Action = "user.delete"
			es[1].Hash = es[1].Sum(es[1].PrevHash)
			return es, h
		}, 2},
		{"middle removed", func(es []Entry, h Head) ([]Entry, Head) { return append(es[:2:2], es[3:]...), h }, 3},
		{"first removed", func(es []Entry, h Head) ([]Entry, Head) { return es[1:], h }, 1},
		{"newest removed", func(es []Entry, h Head) ([]Entry, Head) { return es[:4], h }, 5},
		{"all removed", func(es []Entry, h Head) ([]Entry, Head) { return nil, h }, 1},
		{"head rewritten", func(es []Entry, h Head) ([]Entry, Head) { h.Hash = es[3].Hash; return es, h }, 5},
		{"row inserted past head", func(es []Entry, h Head) ([]Entry, Head) { return es, Head{Seq: 4, Hash: es[3].Hash} }, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			es, h := chain(5)
			if tt.name == "empty" {
				es, h = chain(0)
			}
			es, h = tt.mutate(es, h)
			_, err := check(es, h)
			if tt.wantSeq == 0 {
				if err != nil {
					t.Fatalf("check: got %v, want intact", err)
				}
				return
			}
			var b *Break
			if !errors.As(err, &b) {
				t.Fatalf("check: got %v, want a break at row %d", err, tt.wantSeq)
			}
			if b.Seq != tt.wantSeq {
				t.Errorf("check: break at row %d (%s), want row %d", b.Seq, b.Reason, tt.wantSeq)
			}
		})
	}
}

func TestNewKeepsNoSecretFields(t *testing.T) {
	t.Parallel()
	type view struct {
		Name string `json:"name"`
	}
	e := New(System, "user.create", Object("user", 7), nil, view{Name: "bob"})
	if e.Before != "" || e.After != `{"name":"bob"}` || e.Object != "user:7" {
		t.Errorf("New: got before %q after %q object %q", e.Before, e.After, e.Object)
	}
}
