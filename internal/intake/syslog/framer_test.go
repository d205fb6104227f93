// SPDX-License-Identifier: Apache-2.0

package syslog

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
)

// chunked reads from b at most step bytes at a time.
type chunked struct {
	b    []byte
	step int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.b)
	c.b = c.b[n:]
	return n, nil
}

type frame struct {
	msg string
	cut string
}

// frames splits stream with reads of step bytes.
func frames(t *testing.T, stream []byte, max, step int) []frame {
	t.Helper()
	f := newFramer(&chunked{b: stream, step: step}, max)
	var out []frame
	total := 0
	for {
		msg, cut, err := f.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if len(msg) == 0 || len(msg) > max {
			t.Fatalf("message of %d bytes (max %d)", len(msg), max)
		}
		total += len(msg)
		if total > len(stream) || len(out) > len(stream) {
			t.Fatalf("%d messages, %d bytes out of a %d-byte stream", len(out), total, len(stream))
		}
		out = append(out, frame{string(msg), cut})
	}
}

func TestFramer(t *testing.T) {
	for _, tc := range []struct {
		name, stream string
		max          int
		want         []frame
	}{
		{"lf cr nul", "a\nb\r\nc\x00d", 10, []frame{{"a", ""}, {"b", ""}, {"c", ""}, {"d", ""}}},
		{"empty lines skipped", "\n\n\r\n\x00a\n", 10, []frame{{"a", ""}}},
		{"octet count", "3 <1>5 <2>\nx", 10, []frame{{"<1>", ""}, {"<2>\nx", ""}}},
		{"digits not a count", "12 abc\n34: <x>\n", 10, []frame{{"12 abc", ""}, {"34: <x>", ""}}},
		{"zero count", "0 <1>\n", 10, []frame{{"<1>", ""}}},
		{"long line cut", "0123456789abc\nnext\n", 5, []frame{{"01234", reasonTooLong}, {"next", ""}}},
		{"long line cut exactly at max", "01234\n56789a\n", 5, []frame{{"01234", ""}, {"56789", reasonTooLong}}},
		{"long frame cut", "11 <23456789ab<1>\n", 5, []frame{{"<2345", reasonTooLong}, {"<1>", ""}}},
		{"closed inside a frame", "9 <1>x", 10, []frame{{"<1>x", reasonClosedInFrame}}},
		{"closed inside an over-long frame", "20 <1>xxxxxxxxx", 5, []frame{{"<1>xx", reasonTooLong}}},
		{"closed after a count", "12", 10, []frame{{"12", ""}}},
		{"count too long", "1234567890 <1>\n", 20, []frame{{"1234567890 <1>", ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, 2, 3, 7, 1 << 20} {
				if got := frames(t, []byte(tc.stream), tc.max, step); !slices.Equal(got, tc.want) {
					t.Errorf("reads of %d bytes: %q, want %q", step, got, tc.want)
				}
			}
		})
	}
}

// FuzzFramer checks that framing never panics or loops, that messages keep
// within the limit and come from the stream, and that they do not depend
// on how the stream is cut into reads.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"<13>Nov 22 10:00:00 h p: one\n", "3 <1>5 <2>\nx", "12 abc\n", "100 <1>cut", "\r\n\x00\n",
		"57 <14>1 2026-11-22T10:00:00Z h app - - - two with a\nnewline", "999999999 <",
	} {
		f.Add([]byte(s), uint8(16), uint8(3))
	}
	f.Fuzz(func(t *testing.T, stream []byte, max, step uint8) {
		m, s := int(max)%64+1, int(step)%16+1
		whole := frames(t, stream, m, 1<<20)
		if cut := frames(t, stream, m, s); !slices.Equal(whole, cut) {
			t.Fatalf("reads of %d bytes give %q, one read gives %q", s, cut, whole)
		}
		for _, fr := range whole {
			if !bytes.Contains(stream, []byte(fr.msg)) {
				t.Fatalf("message %q is not in the stream", fr.msg)
			}
		}
	})
}
