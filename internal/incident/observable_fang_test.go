// SPDX-License-Identifier: Apache-2.0

package incident

import (
	"strings"
	"testing"
)

func TestDefang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o    Observable
		want string
	}{
		{Observable{Kind: ObservableIP, Value: "192.0.2.1"}, "192.0.2[.]1"},
		{Observable{Kind: ObservableIP, Value: "2001:db8::1"}, "2001[:]db8::1"},
		{Observable{Kind: ObservableDomain, Value: "evil.example"}, "evil[.]example"},
		{Observable{Kind: ObservableURL, Value: "https://evil.example/x"}, "hxxps://evil[.]example/x"},
		{Observable{Kind: ObservableURL, Value: "http://user@www.evil.example:8080/a.b?c=d.e"}, "hxxp://user@www[.]evil[.]example:8080/a.b?c=d.e"},
		{Observable{Kind: ObservableURL, Value: "http://192.0.2.1:8080/a.ps1"}, "hxxp://192.0.2[.]1:8080/a.ps1"},
		{Observable{Kind: ObservableURL, Value: "http://[2001:db8::1]/"}, "hxxp://[2001:db8::1]/"},
		{Observable{Kind: ObservableURL, Value: "ftp://files.example/"}, "fxp://files[.]example/"},
		{Observable{Kind: ObservableURL, Value: "wss://ws.example/"}, "wss://ws[.]example/"},
		{Observable{Kind: ObservableEmail, Value: "user@evil.example"}, "user[@]evil[.]example"},
		{Observable{Kind: ObservableEmail, Value: "first.last@evil.example"}, "first.last[@]evil[.]example"},
		{Observable{Kind: ObservableMD5, Value: "d41d8cd98f00b204e9800998ecf8427e"}, "d41d8cd98f00b204e9800998ecf8427e"},
		{Observable{Kind: ObservableFilename, Value: "invoice\u202Efdp.exe"}, "invoice[U+202E]fdp.exe"},
		{Observable{Kind: ObservableHost, Value: "ws01.corp.local"}, "ws01.corp.local"},
	}
	for _, tc := range tests {
		got := Defang(tc.o)
		if got != tc.want {
			t.Errorf("Defang(%s %q) = %q, want %q", tc.o.Kind, tc.o.Value, got, tc.want)
		}
		if back := Refang(got); back != tc.o.Value {
			t.Errorf("Refang(%q) = %q, want %q", got, back, tc.o.Value)
		}
		if tc.o.Kind.Network() {
			if p, err := ParseObservable(tc.o.Kind, got); err != nil || p.Value != tc.o.Value {
				t.Errorf("ParseObservable(%s, %q) = %q, %v; want %q", tc.o.Kind, got, p.Value, err, tc.o.Value)
			}
		}
	}
}

func TestDefangRefangText(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"hxxp://evil[.]example/a":        "http://evil.example/a",
		"HXXPS[:]//evil(.)example{.}com": "https://evil.example.com",
		"h**p://a[dot]b":                 "http://a.b",
		"h__ps://a[DOT]b":                "https://a.b",
		"fxp[://]a.b":                    "ftp://a.b",
		"ttp://2ch.example/":             "http://2ch.example/",
		"ttps://2ch.example/":            "https://2ch.example/",
		"TTP: T1566 (phishing)":          "TTP: T1566 (phishing)", // not a scheme
		"https://already.example/":       "https://already.example/",
		"user[at]evil[.]example":         "user@evil.example",
		"user(@)evil(dot)example":        "user@evil.example",
		"evil [.] example [dot] com":     "evil.example.com",
		"info [at] example.jp":           "info@example.jp",
		"a [.]b and c[.] d":              "a .b and c. d", // a blank on one side only stays
		"array[0] (note) {x}":            "array[0] (note) {x}",
		"invoice[U+202E]fdp.exe":         "invoice\u202Efdp.exe",
		"[U+0041] is not a bidi control": "[U+0041] is not a bidi control",
		"shxxp://x":                      "shxxp://x",
		"":                               "",
		"[":                              "[",
		"[.":                             "[.",
		"evil[.]example[.]":              "evil.example.",
		"192.0.2[.]1 and 2001[:]db8::1":  "192.0.2.1 and 2001:db8::1",
		"送信元：taro[@]evil[.]example です": "送信元：taro@evil.example です",
	}
	for in, want := range tests {
		if got := Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExtractedParseBack(t *testing.T) {
	t.Parallel()
	for _, text := range []string{phishingJA, phishingEN, alertDescription, ransomNote} {
		for _, o := range Extract(text) {
			p, err := ParseObservable(o.Kind, o.Value)
			if err != nil || p.Value != o.Value {
				t.Errorf("ParseObservable(%s, %q) = %q, %v; want it unchanged", o.Kind, o.Value, p.Value, err)
			}
			if !o.Kind.Network() {
				continue
			}
			d := Defang(o)
			if strings.HasPrefix(d, "http://") || strings.HasPrefix(d, "https://") || strings.HasPrefix(d, "ftp://") ||
				(o.Kind != ObservableURL && strings.Contains(d, o.Value)) {
				t.Errorf("Defang(%s %q) = %q is still live", o.Kind, o.Value, d)
			}
			if Refang(d) != o.Value {
				t.Errorf("Refang(Defang(%s %q)) = %q", o.Kind, o.Value, Refang(d))
			}
		}
	}
}
