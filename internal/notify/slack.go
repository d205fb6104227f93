// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"strings"
	"unicode/utf8"
)

// Slack Block Kit limits (characters): a header's text, a section's text,
// a section field's text, the fields of one section.
const (
	slackHeader    = 150
	slackSection   = 3000
	slackField     = 2000
	slackMaxFields = 10
)

type slackText struct {
	Type string `json:"type"` // "plain_text" or "mrkdwn"
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"` // what Slack shows in notifications
	Blocks []slackBlock `json:"blocks"`
}

// mrkdwn escapes the three characters Slack's mrkdwn treats as control
// characters, so that text from events never becomes a link or a mention
// (<!channel>), and cuts the escaped result to max characters without
// splitting an entity.
func mrkdwn(s string, max int) string {
	esc := mrkdwnEscaper.Replace(s)
	if utf8.RuneCountInString(esc) <= max {
		return esc
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := mrkdwnEscaper.Replace(string(r))
		pn := utf8.RuneCountInString(piece)
		if n+pn > max-1 { // leave room for the ellipsis
			break
		}
		b.WriteString(piece)
		n += pn
	}
	b.WriteString("…")
	return b.String()
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackLink is a mrkdwn link; u has been checked by link and text is
// escaped. A '|' or '>' in the URL would end it early, so they are
// percent-encoded.
func slackLink(u, text string) string {
	u = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(u)
	return "<" + u + "|" + text + ">"
}

func mrkdwnText(s string) *slackText { return &slackText{Type: "mrkdwn", Text: s} }

func slackPayload(l labels, m Message) ([]byte, error) {
	v := newView(l, m)
	msg := slackMessage{Text: mrkdwn(v.Subject, slackSection)}
	add := func(b slackBlock) { msg.Blocks = append(msg.Blocks, b) }

	add(slackBlock{Type: "header", Text: &slackText{Type: "plain_text", Text: cut(v.Title, slackHeader)}})
	add(slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn",
		Text: "*" + mrkdwn(l.t("notify.level_label"), 100) + ":* " + mrkdwn(v.LevelText, 100)}}})
	if v.Summary != "" {
		add(slackBlock{Type: "section", Text: &slackText{Type: "plain_text", Text: cut(v.Summary, slackSection)}})
	}
	var fields []slackText
	for _, f := range v.Facts {
		name := mrkdwn(f.Name, 200)
		fields = append(fields, slackText{Type: "mrkdwn", Text: "*" + name + "*\n" + mrkdwn(f.Value, slackField-len([]rune(name))-3)})
		if len(fields) == slackMaxFields {
			add(slackBlock{Type: "section", Fields: fields})
			fields = nil
		}
	}
	if len(fields) > 0 {
		add(slackBlock{Type: "section", Fields: fields})
	}
	if v.MoreFacts != "" {
		add(slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: mrkdwn(v.MoreFacts, slackSection)}}})
	}
	var lines strings.Builder
	for _, it := range v.Items {
		line := "• *" + mrkdwn(it.LevelText, 100) + "* "
		title := mrkdwn(it.Title, 300)
		if it.URL != "" {
			line += slackLink(it.URL, title)
		} else {
			line += title
		}
		for _, s := range []string{it.Count, it.Time} {
			if s != "" {
				line += " · " + mrkdwn(s, 100)
			}
		}
		if utf8.RuneCountInString(lines.String())+utf8.RuneCountInString(line)+1 > slackSection {
			add(slackBlock{Type: "section", Text: mrkdwnText(lines.String())})
			lines.Reset()
		}
		if lines.Len() > 0 {
			lines.WriteByte('\n')
		}
		lines.WriteString(line)
	}
	if lines.Len() > 0 {
		add(slackBlock{Type: "section", Text: mrkdwnText(lines.String())})
	}
	if v.MoreItems != "" {
		add(slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: mrkdwn(v.MoreItems, slackSection)}}})
	}
	if v.URL != "" {
		add(slackBlock{Type: "section", Text: mrkdwnText(slackLink(v.URL, mrkdwn(v.Open, 100)))})
	}
	return marshal(msg)
}
