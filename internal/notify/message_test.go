// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/i18n"
)

func TestTextHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fn, in string
		max    int
		want   string
	}{
		{"oneLine", "a\r\nb\t c\x00d", 100, "a b c d"},
		{"oneLine", "  lead and trail  ", 100, "lead and trail"},
		{"oneLine", "Subject\r\nBcc: evil@example.com", 100, "Subject Bcc: evil@example.com"},
		{"oneLine", "日本語のタイトル", 4, "日本語…"},
		{"oneLine", "abc", 3, "abc"},
		{"oneLine", "bad \xff utf8", 100, "bad utf8"},
		{"plain", "line1\r\nline2\rline3\x1b[31m", 100, "line1\nline2\nline3[31m"},
		{"plain", "\n\n  x  \n", 100, "x"},
		{"mrkdwn", "a<b>&c", 100, "a&lt;b&gt;&amp;c"},
		{"mrkdwn", "&&&&", 10, "&amp;…"}, // never half an entity
		{"mrkdwn", "ok", 2, "ok"},
		{"link", "https://koban.example/a?b=1", 0, "https://koban.example/a?b=1"},
		{"link", "http://koban.example", 0, "http://koban.example"},
		{"link", "javascript:alert(1)", 0, ""},
		{"link", "data:text/html,x", 0, ""},
		{"link", "//koban.example/a", 0, ""},
		{"link", "/alerts/1", 0, ""},
		{"link", "https://" + strings.Repeat("a", 2000), 0, ""},
	}
	for _, tt := range tests {
		var got string
		switch tt.fn {
		case "oneLine":
			got = oneLine(tt.in, tt.max)
		case "plain":
			got = plain(tt.in, tt.max)
		case "mrkdwn":
			got = mrkdwn(tt.in, tt.max)
		case "link":
			got = link(tt.in)
		}
		if got != tt.want {
			t.Errorf("%s(%q, %d) = %q, want %q", tt.fn, tt.in, tt.max, got, tt.want)
		}
	}
}

func manyFacts(n int) []Fact {
	fs := make([]Fact, n)
	for i := range fs {
		fs[i] = Fact{Name: fmt.Sprintf("field %d", i), Value: strings.Repeat("&<", 1500)}
	}
	return fs
}

func manyItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{Title: fmt.Sprintf("alert %d %s", i, strings.Repeat("x", 400)), Level: LevelMedium,
			URL: fmt.Sprintf("https://koban.example/alerts/%d", i), Count: i, Time: fixedNow}
	}
	return items
}

// TestLimits renders a message far over every channel's limits.
func TestLimits(t *testing.T) {
	t.Parallel()
	l := newLabels(catalog(t), i18n.English)
	m := Message{
		Title:   strings.Repeat("長", 500),
		Summary: strings.Repeat("s", 10000),
		Level:   LevelHigh,
		URL:     "https://koban.example/alerts",
		Facts:   manyFacts(25),
		Items:   manyItems(30),
	}
	v := newView(l, m)
	if len(v.Facts) != maxFacts || v.MoreFacts != "5 more fields are shown in koban." {
		t.Errorf("view: %d facts, more %q; want %d and 5 more", len(v.Facts), v.MoreFacts, maxFacts)
	}
	if len(v.Items) != maxItems || v.MoreItems != "10 more alerts are shown in koban." {
		t.Errorf("view: %d items, more %q; want %d and 10 more", len(v.Items), v.MoreItems, maxItems)
	}
	if n := utf8.RuneCountInString(v.Title); n != maxTitle {
		t.Errorf("view title: %d runes, want %d", n, maxTitle)
	}

	body, err := slackPayload(l, m)
	if err != nil {
		t.Fatal(err)
	}
	checkSlackLimits(t, body)
	var msg slackMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	var fieldSections int
	for _, b := range msg.Blocks {
		if len(b.Fields) > 0 {
			fieldSections++
		}
	}
	if fieldSections != 2 {
		t.Errorf("slack: %d sections of fields, want 2 (20 facts, 10 per section)", fieldSections)
	}
	if body, err = teamsPayload(l, m); err != nil || len(body) > 28<<10 {
		t.Errorf("teams card: %d bytes (%v), want under Teams' 28 KB", len(body), err)
	}
	// 20 facts of 1,000 characters do not fit: the card counts what it
	// leaves out together with the 5 facts the view dropped.
	if !bytes.Contains(body, []byte(" more fields are shown in koban.")) || bytes.Contains(body, []byte(`"5 more fields`)) {
		t.Errorf("teams card lacks a count of the facts left out beyond the 5 hidden ones")
	}
}

// checkSlackLimits fails when a Slack payload breaks a Block Kit limit.
func checkSlackLimits(t *testing.T, body []byte) {
	t.Helper()
	var msg slackMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("slack payload is not JSON: %v", err)
	}
	if len(msg.Blocks) > 50 {
		t.Errorf("slack: %d blocks, over 50", len(msg.Blocks))
	}
	runes := utf8.RuneCountInString
	for i, b := range msg.Blocks {
		if b.Type == "header" && runes(b.Text.Text) > slackHeader {
			t.Errorf("slack block %d: header of %d characters", i, runes(b.Text.Text))
		}
		if b.Text != nil && runes(b.Text.Text) > slackSection {
			t.Errorf("slack block %d: text of %d characters", i, runes(b.Text.Text))
		}
		if b.Text != nil && b.Text.Text == "" {
			t.Errorf("slack block %d: empty text", i)
		}
		if len(b.Fields) > slackMaxFields {
			t.Errorf("slack block %d: %d fields", i, len(b.Fields))
		}
		for _, f := range b.Fields {
			if runes(f.Text) > slackField {
				t.Errorf("slack block %d: field of %d characters", i, runes(f.Text))
			}
		}
	}
}

// FuzzRender renders arbitrary alert texts (they come from events) for
// every channel: nothing panics, every payload is valid JSON within the
// channels' limits, mrkdwn holds no markup of its own, and a mail's
// subject survives RFC 2047 encoding.
func FuzzRender(f *testing.F) {
	f.Add("Brute force", "57 failures\nthen success", "User", `CORP\yamada`, "ja")
	f.Add("<!channel> *x*", "<https://phish|here>", "[a](b)", "&amp;<>", "en")
	f.Add(strings.Repeat("管", 300), "\r\n\x00\x1b", "", "", "fr")
	f.Add("=?UTF-8?B?SGk=?=", "-- \n.", "Subject", "a\r\nBcc: x@example.com", "ja")
	f.Add("\xff\xfe bad", "\u2028\u202e", "é", strings.Repeat("&", 3000), "en")
	cat, err := i18n.Load()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, summary, name, value, lang string) {
		m := Message{Title: title, Summary: summary, Level: LevelMedium, URL: "https://koban.example/a",
			Facts: []Fact{{Name: name, Value: value}}, Lang: i18n.Lang(lang),
			Items: []Item{{Title: value, Level: LevelLow, URL: "https://koban.example/b", Count: 2}}}
		if m.check() != nil {
			return
		}
		l := newLabels(cat, m.Lang)
		body, err := slackPayload(l, m)
		if err != nil {
			t.Fatal(err)
		}
		checkSlackLimits(t, body)
		var msg slackMessage
		_ = json.Unmarshal(body, &msg) // checked by checkSlackLimits
		texts := []string{msg.Text}
		for _, b := range msg.Blocks {
			if b.Text != nil && b.Text.Type == "mrkdwn" {
				texts = append(texts, b.Text.Text)
			}
			for _, e := range append(b.Fields, b.Elements...) {
				texts = append(texts, e.Text)
			}
		}
		for _, s := range texts {
			if strings.Count(s, "<") != strings.Count(s, "<https://koban.example/") {
				t.Fatalf("mrkdwn %q holds markup from the alert", s)
			}
		}
		for _, render := range []func() ([]byte, error){
			func() ([]byte, error) { return teamsPayload(l, m) },
			func() ([]byte, error) { return jsonPayload(m, fixedNow) },
		} {
			b, err := render()
			if err != nil || !json.Valid(b) {
				t.Fatalf("payload %q: %v", b, err)
			}
		}

		s := &SMTP{cfg: SMTPConfig{To: []string{"soc@koban.example"}}, opt: Options{Catalog: cat, Now: func() time.Time { return fixedNow }},
			from: &mail.Address{Address: "koban@koban.example"}}
		msgMail, err := s.compose(m)
		if err != nil {
			t.Fatal(err)
		}
		var raw bytes.Buffer
		if _, err := msgMail.WriteTo(&raw); err != nil {
			t.Fatal(err)
		}
		parsedMail, err := mail.ReadMessage(&raw)
		if err != nil {
			t.Fatalf("the composed mail does not parse: %v", err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(parsedMail.Header.Get("Subject"))
		if want := l.subject(m); err != nil || subject != want {
			t.Fatalf("Subject decodes to %q (%v), want %q", subject, err, want)
		}
		if got := parsedMail.Header["Bcc"]; len(got) > 0 {
			t.Fatalf("an alert text added a Bcc header: %q", got)
		}
	})
}
