// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"strings"
)

// Microsoft Teams takes an Adaptive Card wrapped in a "message" with one
// attachment, which is what the Workflows (Power Automate) "When a Teams
// webhook request is received" trigger and its "Post card in a chat or
// channel" action expect; the retired Office 365 connectors accepted the
// same wrapper.
//
// Every text from the alert goes into TextRun elements of RichTextBlocks:
// TextBlock and FactSet render Markdown, so a user name such as
// "[sign in](https://phish.example)" would become a link; a TextRun never
// renders Markdown.

const adaptiveCardType = "application/vnd.microsoft.card.adaptive"

// teamsBudget is how many bytes of alert text a card carries at most:
// Teams refuses cards over about 28 KB, and the card's own structure needs
// room too. Facts and items that do not fit are counted in the "more …
// shown in koban" line instead.
const teamsBudget = 16 << 10

type teamsMessage struct {
	Type        string            `json:"type"` // "message"
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"` // always null
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"` // "AdaptiveCard"
	Version string         `json:"version"`
	Lang    string         `json:"lang,omitempty"`
	MSTeams map[string]any `json:"msteams,omitempty"`
	Body    []teamsBlock   `json:"body"`
	Actions []teamsAction  `json:"actions,omitempty"`
}

// teamsBlock is a RichTextBlock.
type teamsBlock struct {
	Type      string     `json:"type"` // "RichTextBlock"
	Inlines   []teamsRun `json:"inlines"`
	Separator bool       `json:"separator,omitempty"`
	Spacing   string     `json:"spacing,omitempty"`
}

type teamsRun struct {
	Type         string       `json:"type"` // "TextRun"
	Text         string       `json:"text"`
	Weight       string       `json:"weight,omitempty"`
	Size         string       `json:"size,omitempty"`
	Color        string       `json:"color,omitempty"`
	IsSubtle     bool         `json:"isSubtle,omitempty"`
	SelectAction *teamsAction `json:"selectAction,omitempty"`
}

type teamsAction struct {
	Type  string `json:"type"` // "Action.OpenUrl"
	Title string `json:"title,omitempty"`
	URL   string `json:"url"`
}

// teamsColour is a level's Adaptive Card colour.
func teamsColour(l Level) string {
	switch l {
	case LevelCritical, LevelHigh:
		return "Attention"
	case LevelMedium:
		return "Warning"
	case LevelLow:
		return "Accent"
	}
	return "Default"
}

func run(text string) teamsRun { return teamsRun{Type: "TextRun", Text: text} }

func block(runs ...teamsRun) teamsBlock { return teamsBlock{Type: "RichTextBlock", Inlines: runs} }

func teamsPayload(l labels, m Message) ([]byte, error) {
	v := newView(l, m)
	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Lang:    string(l.lang),
		MSTeams: map[string]any{"width": "Full"},
	}
	add := func(b teamsBlock) { card.Body = append(card.Body, b) }

	lv := run(v.LevelText)
	lv.Weight, lv.Color = "Bolder", teamsColour(v.Level)
	add(block(lv))
	title := run(v.Title)
	title.Weight, title.Size = "Bolder", "Large"
	add(block(title))
	// One block per line: a TextRun's line breaks are not rendered the
	// same way by every Teams client.
	for _, line := range strings.Split(v.Summary, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			b := block(run(line))
			b.Spacing = "Small"
			add(b)
		}
	}
	budget := teamsBudget - len(v.Title) - len(v.Summary)
	omitted := 0
	for i, f := range v.Facts {
		value := strings.ReplaceAll(f.Value, "\n", " ")
		if budget -= len(f.Name) + len(value); budget < 0 {
			omitted = len(v.Facts) - i
			break
		}
		name := run(f.Name + ": ")
		name.Weight = "Bolder"
		b := block(name, run(value))
		b.Spacing, b.Separator = "Small", i == 0
		add(b)
	}
	if more := moreText(l, "notify.more_facts", v.MoreFacts, omitted, v.hiddenFacts); more != "" {
		r := run(more)
		r.IsSubtle = true
		add(block(r))
	}
	omitted = 0
	for i, it := range v.Items {
		if budget -= len(it.Title) + len(it.URL) + len(it.Count) + len(it.Time); budget < 0 {
			omitted = len(v.Items) - i
			break
		}
		lv := run(it.LevelText + " ")
		lv.Weight, lv.Color = "Bolder", teamsColour(it.Level)
		t := run(it.Title)
		if it.URL != "" {
			t.SelectAction = &teamsAction{Type: "Action.OpenUrl", URL: it.URL}
			t.Color = "Accent"
		}
		runs := []teamsRun{lv, t}
		for _, s := range []string{it.Count, it.Time} {
			if s != "" {
				r := run(" · " + s)
				r.IsSubtle = true
				runs = append(runs, r)
			}
		}
		b := block(runs...)
		b.Spacing, b.Separator = "Small", i == 0
		add(b)
	}
	if more := moreText(l, "notify.more_items", v.MoreItems, omitted, v.hiddenItems); more != "" {
		r := run(more)
		r.IsSubtle = true
		add(block(r))
	}
	if v.URL != "" {
		card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: v.Open, URL: v.URL}}
	}
	return marshal(teamsMessage{
		Type:        "message",
		Attachments: []teamsAttachment{{ContentType: adaptiveCardType, Content: card}},
	})
}

// moreText is the "n more … shown in koban" line when the card leaves out
// omitted entries besides the hidden ones the view already counted.
func moreText(l labels, id, viewMore string, omitted, hidden int) string {
	if omitted == 0 {
		return viewMore
	}
	return l.t(id, "count", omitted+hidden)
}
