// SPDX-License-Identifier: Apache-2.0

package event

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sample() Event {
	e := Event{
		ID: NewID(1_700_000_000_000_000_000), Time: 1_700_000_000_123_456_789, Received: 1_700_000_001_000_000_000,
		Tenant: "t1", Source: "syslog-tcp", Host: "web01",
		Log:   LogSource{Product: "linux", Service: "sshd"},
		Raw:   []byte("<34>Oct 11 22:14:15 web01 sshd[1]: Failed password\xff"),
		Flags: FlagInvalidText, Reason: "not UTF-8",
	}
	e.Add("Image", `C:\Windows\System32\cmd.exe`)
	e.Add("CommandLine", "")
	e.Add("ユーザー", "管理者")
	return e
}

func TestRoundTrip(t *testing.T) {
	e := sample()
	b := e.AppendBinary([]byte("prefix"))
	var got Event
	n, err := Decode(b[6:], &got)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b)-6 {
		t.Errorf("used %d bytes of %d", n, len(b)-6)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if v, ok := got.Lookup("ユーザー"); !ok || v != "管理者" {
		t.Errorf("Lookup = %q, %v", v, ok)
	}
}

func TestDecodeTruncated(t *testing.T) {
	e := sample()
	b := e.AppendBinary(nil)
	for i := range len(b) {
		var got Event
		if _, err := Decode(b[:i], &got); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode of %d/%d bytes: err = %v, want ErrCorrupt", i, len(b), err)
		}
	}
}

func TestSetGetDelete(t *testing.T) {
	var e Event
	id := MustIntern("User")
	e.Set(id, "a")
	e.Set(id, "b")
	if v, _ := e.Get(id); v != "b" || len(e.Fields) != 1 {
		t.Fatalf("Set twice: %q, %d fields", v, len(e.Fields))
	}
	e.Delete(id)
	if _, ok := e.Get(id); ok {
		t.Fatal("Delete left the field")
	}
	e.Flag(FlagParseError, "first")
	e.Flag(FlagTruncated, "second")
	if e.Reason != "first" || !e.Flags.Has(FlagParseError|FlagTruncated) {
		t.Errorf("flags %v reason %q", e.Flags.Names(), e.Reason)
	}
}

func TestIDText(t *testing.T) {
	a, b := NewID(1), NewID(2)
	if a.String() >= b.String() {
		t.Errorf("ids do not sort by time: %s, %s", a, b)
	}
	p, err := ParseID(a.String())
	if err != nil || p != a {
		t.Errorf("ParseID(%s) = %v, %v", a, p, err)
	}
	for _, bad := range []string{"", "short", "UUUUUUUUUUUUUUUUUUUUUUUUUU", a.String() + "0"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	k1, k2, l := DeriveID(5, []byte("k")), DeriveID(5, []byte("k")), DeriveID(5, []byte("l"))
	if k1 != k2 || k1 == l {
		t.Error("DeriveID is not a function of its input")
	}
}

func TestInternConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				name := fmt.Sprintf("concurrent_%d", i)
				id, err := Intern(name)
				if err != nil || id.Name() != name {
					t.Errorf("goroutine %d: Intern(%s) = %d (%q), %v", g, name, id, id.Name(), err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func FuzzDecode(f *testing.F) {
	e := sample()
	f.Add(e.AppendBinary(nil))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Event
		n, err := Decode(b, &got)
		if err != nil {
			return
		}
		again := got.AppendBinary(nil)
		if got.Flags.Has(FlagFieldsDropped) {
			return
		}
		var second Event
		if _, err := Decode(again, &second); err != nil {
			t.Fatalf("re-encoded event does not decode: %v", err)
		}
		if !bytes.Equal(second.AppendBinary(nil), again) || n > len(b) {
			t.Fatal("encoding is not stable")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	e := sample()
	buf := e.AppendBinary(nil)
	var got Event
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(buf, &got); err != nil {
			b.Fatal(err)
		}
	}
}
