// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// mispAttribute is one attribute of a MISP event.
type mispAttribute struct{ Type, Value string }

// mispAttributes reads the attributes of the MISP events in the shared
// data: real indicators from published threat reports.
func mispAttributes(tb testing.TB) []mispAttribute {
	tb.Helper()
	var out []mispAttribute
	for _, rel := range []string{"long_event.json", "HTML_event.json", "sighting_1.json", "to_delete1.json", "japanese_test.json"} {
		b, err := os.ReadFile(shareddata.Path(tb, filepath.Join("misp/PyMISP/tests/reportlab_testfiles", rel)))
		if err != nil {
			tb.Fatal(err)
		}
		var doc struct {
			Event struct{ Attribute []mispAttribute }
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			tb.Fatalf("%s: %v", rel, err)
		}
		out = append(out, doc.Event.Attribute...)
	}
	if len(out) < 300 {
		tb.Fatalf("read only %d MISP attributes", len(out))
	}
	return out
}

// mispObservable returns the observables a MISP attribute stands for
// ("filename|sha256" gives two), parsed; invalid values are left out.
func mispObservables(a mispAttribute) []Observable {
	types, values := strings.Split(a.Type, "|"), strings.Split(a.Value, "|")
	var out []Observable
	for i, typ := range types {
		if i >= len(values) {
			break
		}
		if typ == "hostname" {
			typ = "domain" // MISP's hostname is a DNS name
		}
		k, err := ParseObservableKind(typ)
		if err != nil {
			continue
		}
		if o, err := ParseObservable(k, values[i]); err == nil {
			out = append(out, o)
		}
	}
	return out
}

// TestExtractRealIndicators writes the indicators of real MISP events into a
// report, defanged as threat reports write them and then plain, and checks
// that Extract finds each.
func TestExtractRealIndicators(t *testing.T) {
	t.Parallel()
	var defanged, plain strings.Builder
	var wantDefanged, wantPlain []Observable
	for _, a := range mispAttributes(t) {
		for _, o := range mispObservables(a) {
			switch {
			case o.Kind == ObservableFilename:
				ext := strings.ToLower(o.Value[strings.LastIndexByte(o.Value, '.')+1:])
				if !obsSuspiciousExts[ext] || strings.ContainsAny(o.Value, ` \/`) {
					continue
				}
			case !o.Kind.Valid() || o.Kind == ObservableUser || o.Kind == ObservableHost:
				continue
			}
			defanged.WriteString("- 観測された指標: " + Defang(o) + " （" + string(o.Kind) + "）\n")
			wantDefanged = append(wantDefanged, o)
			plain.WriteString("Seen: " + o.Value + ", reported.\n")
			if o.Kind == ObservableDomain {
				tld := o.Value[strings.LastIndexByte(o.Value, '.')+1:]
				if !obsTLDs[tld] || obsFileTLDs[tld] {
					continue // written plainly, not a domain for Extract
				}
			}
			wantPlain = append(wantPlain, o)
		}
	}
	if len(wantDefanged) < 200 {
		t.Fatalf("only %d indicators to look for", len(wantDefanged))
	}
	for _, tc := range []struct {
		name string
		text string
		want []Observable
	}{{"defanged", defanged.String(), wantDefanged}, {"plain", plain.String(), wantPlain}} {
		got := map[kv]bool{}
		for _, o := range obsExtract(tc.text, ObservableSourceText, "", 1<<20) {
			got[kv{o.Kind, o.Value}] = true
		}
		missed := 0
		for _, o := range tc.want {
			if !got[kv{o.Kind, o.Value}] {
				if missed++; missed <= 10 {
					t.Errorf("%s: Extract did not find %s %q", tc.name, o.Kind, o.Value)
				}
			}
		}
		t.Logf("%s: %d indicators, %d missed", tc.name, len(tc.want), missed)
	}
}

// fuzzTexts are seeds for FuzzExtract: the test texts and lines of real logs.
func fuzzTexts(tb testing.TB) []string {
	seeds := []string{phishingJA, phishingEN, alertDescription, ransomNote,
		"hxxp://1.2.3[.]4:80/a?b=c", "[2001:db8::1]:443 fe80::1%eth0", "a@b.co.jp x.exe.config", "ttp://例え.jp/",
		"evil [.] example [dot] com", "SHA256=" + strings.Repeat("A", 64), "((((((((((x.exe", "http://[::1", "@@@.@.@"}
	for _, rel := range []string{"loghub/OpenSSH/OpenSSH_2k.log", "loghub/Apache/Apache_2k.log", "loghub/Windows/Windows_2k.log"} {
		f, err := os.Open(shareddata.Path(tb, rel))
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for i := 0; sc.Scan() && i < 400; i++ {
			if i%40 == 0 {
				seeds = append(seeds, sc.Text())
			}
		}
		f.Close()
	}
	return seeds
}

func FuzzExtract(f *testing.F) {
	for _, s := range fuzzTexts(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := Extract(text)
		if len(got) > MaxExtracted {
			t.Fatalf("Extract: %d observables, more than %d", len(got), MaxExtracted)
		}
		seen := map[kv]bool{}
		for _, o := range got {
			k := kv{o.Kind, o.Value}
			if seen[k] {
				t.Errorf("Extract(%q): %s %q twice", text, o.Kind, o.Value)
			}
			seen[k] = true
			if err := o.Validate(); err != nil {
				t.Errorf("Extract(%q): %s %q does not parse back to itself: %v", text, o.Kind, o.Value, err)
			}
			if o.Kind == ObservableUser || o.Kind == ObservableHost {
				t.Errorf("Extract(%q): found a %s", text, o.Kind)
			}
			if Refang(o.Value) == o.Value {
				if back := Refang(Defang(o)); back != o.Value {
					t.Errorf("Refang(Defang(%s %q)) = %q", o.Kind, o.Value, back)
				}
			}
		}
	})
}

func FuzzParseObservable(f *testing.F) {
	cat, err := i18n.Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, a := range mispAttributes(f) {
		typ, _, _ := strings.Cut(a.Type, "|")
		v, _, _ := strings.Cut(a.Value, "|")
		f.Add(typ, v)
	}
	for _, s := range []string{"hxxps://evil[.]example/x", `CORP\taro`, "taro@", "ws 01", "invoice\u202Efdp.exe",
		"[2001:db8::1]:443", "1.2.3.4:99999", "a\x00b", "\xff", "..", `C:\x\`} {
		for _, k := range ObservableKinds {
			f.Add(string(k), s)
		}
	}
	f.Fuzz(func(t *testing.T, kind, raw string) {
		k, err := ParseObservableKind(kind)
		if err != nil {
			k = ObservableKind(kind)
		}
		o, err := ParseObservable(k, raw)
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("ParseObservable(%q, %q): %v is not fault.Invalid", k, raw, err)
			}
			if msg, _ := fault.Public(err); !cat.Has(i18n.English, msg) || !cat.Has(i18n.Japanese, msg) {
				t.Fatalf("ParseObservable(%q, %q): message %q is not in the catalogue", k, raw, msg)
			}
			return
		}
		if o.Kind != k || o.Value == "" || len(o.Value) > 4*MaxObservableLen {
			t.Fatalf("ParseObservable(%q, %q) = %s %q", k, raw, o.Kind, o.Value)
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("ParseObservable(%q, %q) = %q, which does not validate: %v", k, raw, o.Value, err)
		}
		if Refang(o.Value) == o.Value {
			if back := Refang(Defang(o)); back != o.Value {
				t.Fatalf("Refang(Defang(%s %q)) = %q", o.Kind, o.Value, back)
			}
		}
		if o.Kind.Network() {
			if p, err := ParseObservable(k, Defang(o)); err != nil || p.Value != o.Value {
				t.Fatalf("ParseObservable(%s, Defang(%q) = %q) = %q, %v", k, o.Value, Defang(o), p.Value, err)
			}
		}
	})
}

// BenchmarkExtract measures Extract on a realistic mixed text and on
// inputs made to be slow (runs that look like URLs, paths, brackets,
// addresses), each 1 MiB: its cost must stay linear in the input.
func BenchmarkExtract(b *testing.B) {
	mixed := strings.Join([]string{phishingJA, phishingEN, alertDescription, ransomNote}, "\n")
	inputs := map[string]string{
		"mixed":     mixed,
		"urls":      strings.Repeat("http://x", MaxExtractInput/8),
		"paths":     strings.Repeat("a.com/", MaxExtractInput/6),
		"brackets":  strings.Repeat("(", 250) + strings.Repeat("x.exe(", MaxExtractInput/6),
		"addresses": strings.Repeat("1.2.3.4:", MaxExtractInput/8),
		"hex":       strings.Repeat("0123456789abcdef:", MaxExtractInput/17),
		"emails":    strings.Repeat("a@b.", MaxExtractInput/4),
		"defanged":  strings.Repeat("hxxp[:]//a[.]b", MaxExtractInput/14),
		"japanese":  strings.Repeat("添付の請求書.exeを開いた。", MaxExtractInput/40),
	}
	for name, in := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				Extract(in)
			}
		})
	}
}
