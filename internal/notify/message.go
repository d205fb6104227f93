// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/i18n"
)

// Level is how severe a notification is, with Sigma's words (the same words
// as internal/alert's levels), stored as-is.
type Level string

// The levels, least severe first.
const (
	LevelInformational Level = "informational"
	LevelLow           Level = "low"
	LevelMedium        Level = "medium"
	LevelHigh          Level = "high"
	LevelCritical      Level = "critical"
)

// Valid reports whether l is one of the levels.
func (l Level) Valid() bool {
	switch l {
	case LevelInformational, LevelLow, LevelMedium, LevelHigh, LevelCritical:
		return true
	}
	return false
}

// Fact is one key field of an alert shown as "name: value" (rule, host,
// user, ATT&CK technique …). Both parts are already translated.
type Fact struct {
	Name  string
	Value string
}

// Item is one alert inside a digest.
type Item struct {
	Title string
	Level Level
	URL   string    // link to the alert in koban; omitted when not http(s)
	Time  time.Time // when the alert was last seen; zero when unknown
	Count int       // how many detections the alert groups; 0 or 1 shows none
}

// Message is what a channel receives, already translated by the caller into
// Lang. A Message with Items is a digest: its Title and Summary describe the
// digest and Level should be the most severe item's.
//
// Every text may come from events an attacker controls (host and user
// names, command lines): channels escape or neutralise it for their format
// and never let it become markup, a link or a header.
type Message struct {
	Title   string
	Summary string // plain text, may span several lines
	Level   Level
	URL     string // link back to koban; omitted when not http(s)
	Facts   []Fact
	Items   []Item
	Lang    i18n.Lang // "en" or "ja"; anything else is shown in English
}

// Digest reports whether m is a digest of several alerts.
func (m Message) Digest() bool { return len(m.Items) > 0 }

// check returns an error when m cannot be sent at all.
func (m Message) check() error {
	if oneLine(m.Title, maxTitle) == "" {
		return errors.New("message has no title (or only spaces and control characters)")
	}
	if !m.Level.Valid() {
		return fmt.Errorf("message level %q is not informational, low, medium, high or critical", m.Level)
	}
	for i, it := range m.Items {
		if !it.Level.Valid() {
			return fmt.Errorf("message item %d: level %q is not informational, low, medium, high or critical", i, it.Level)
		}
	}
	return nil
}

// Channel delivers a Message to one destination. Send makes one attempt and
// returns an error telling why it failed; Retryable says whether trying
// again later may help. Implementations are safe for concurrent use.
type Channel interface {
	// Name identifies the channel in logs and routing (the configured name,
	// or kind and host); it never holds a secret.
	Name() string
	// Send delivers m once, within ctx and the channel's timeout. Its
	// errors are a *StatusError (a webhook's non-2xx answer), a *SendError
	// (which may wrap a *RefusedError from the Guard) or, for a message
	// without title or with an unknown level, a plain error; none is a
	// fault kind, since no user caused them.
	Send(ctx context.Context, m Message) error
}

// Options are what a channel needs besides its configuration.
type Options struct {
	// Catalog translates the few labels a channel adds itself (level
	// names, "Open in koban"). Required.
	Catalog *i18n.Catalog
	// Guard decides which addresses the channel may connect to.
	Guard Guard
	// RootCAs verifies server certificates; nil uses the system's roots.
	// Tests set it; a deployment with a private CA could too.
	RootCAs *x509.CertPool
	// Now returns the current time, for the json kind's sent_at and mail
	// dates; nil uses time.Now.
	Now func() time.Time

	// resolver, when set, replaces the system resolver; tests use it to
	// make a name resolve to an internal address.
	resolver *net.Resolver
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o Options) check() error {
	if o.Catalog == nil {
		return errors.New("notify: Options.Catalog is nil")
	}
	return nil
}

// labels are the catalogue texts one message needs, looked up once.
type labels struct {
	cat  *i18n.Catalog
	lang i18n.Lang
	zone *time.Location
}

// japanTime is Japan Standard Time; Japan has no daylight saving time, so a
// fixed zone is exact and needs no time zone database.
var japanTime = time.FixedZone("JST", 9*60*60)

func newLabels(cat *i18n.Catalog, lang i18n.Lang) labels {
	if !lang.Valid() {
		lang = i18n.English
	}
	zone := time.UTC
	if lang == i18n.Japanese {
		zone = japanTime // DESIGN §7: Japanese readers see Asia/Tokyo by default
	}
	return labels{cat: cat, lang: lang, zone: zone}
}

func (l labels) t(id string, args ...any) string { return l.cat.T(l.lang, id, args...) }

func (l labels) level(v Level) string { return l.t("notify.level." + string(v)) }

func (l labels) time(t time.Time) string {
	return t.In(l.zone).Format(l.t("time.layout"))
}

func (l labels) count(n int) string { return l.t("notify.item_count", "count", n) }

// subject is the mail subject and the one-line summary chat tools show in
// their notifications.
func (l labels) subject(m Message) string {
	title := oneLine(m.Title, maxTitle)
	if m.Digest() {
		return l.t("notify.subject_digest", "title", title, "count", len(m.Items))
	}
	return l.t("notify.subject", "level", l.level(m.Level), "title", title)
}

// Limits on what a message shows, so that an alert with a huge command line
// or a digest of thousands of alerts still fits every channel (Slack allows
// 50 blocks, Teams about 28 KB per card).
const (
	maxTitle   = 200  // runes
	maxSummary = 2000 // runes
	maxFacts   = 20
	maxName    = 100  // runes
	maxValue   = 1000 // runes
	maxItems   = 20
)

// oneLine collapses every run of white space and control characters into
// one space and cuts s to max runes, so that a title can go into a header
// or a chat heading.
func oneLine(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return cut(b.String(), max)
}

// plain removes control characters except newlines and tabs, turns CRLF and
// CR into LF, and cuts s to max runes.
func plain(s string, max int) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r) || r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	return cut(strings.TrimSpace(s), max)
}

// cut shortens s to at most max runes, marking the cut with an ellipsis.
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// link returns u when it is an absolute http or https URL, "" otherwise, so
// that no javascript: or data: link ever reaches a reader.
func link(u string) string {
	if u == "" || len(u) > 2000 {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// view is a Message cleaned for display: texts cut and stripped of control
// characters, links checked, lists capped, labels translated.
type view struct {
	Subject   string
	Title     string
	Level     Level
	LevelText string
	Summary   string
	URL       string
	Facts     []Fact
	MoreFacts string // "3 more fields are shown in koban.", or ""
	Items     []viewItem
	MoreItems string
	// hiddenFacts and hiddenItems count what MoreFacts and MoreItems
	// speak of.
	hiddenFacts, hiddenItems int
	Open                     string // "Open in koban"
	Footer                   string
	Lang                     i18n.Lang
}

type viewItem struct {
	Title     string
	Level     Level
	LevelText string
	URL       string
	Time      string // formatted in the reader's zone, or ""
	Count     string // "3 events", or ""
}

func newView(l labels, m Message) view {
	v := view{
		Subject:   l.subject(m),
		Title:     oneLine(m.Title, maxTitle),
		Level:     m.Level,
		LevelText: l.level(m.Level),
		Summary:   plain(m.Summary, maxSummary),
		URL:       link(m.URL),
		Open:      l.t("notify.open"),
		Footer:    l.t("notify.footer"),
		Lang:      l.lang,
	}
	for i, f := range m.Facts {
		if i == maxFacts {
			v.hiddenFacts = len(m.Facts) - maxFacts
			v.MoreFacts = l.t("notify.more_facts", "count", v.hiddenFacts)
			break
		}
		name, value := oneLine(f.Name, maxName), plain(f.Value, maxValue)
		if name == "" && value == "" {
			continue
		}
		v.Facts = append(v.Facts, Fact{Name: name, Value: value})
	}
	for i, it := range m.Items {
		if i == maxItems {
			v.hiddenItems = len(m.Items) - maxItems
			v.MoreItems = l.t("notify.more_items", "count", v.hiddenItems)
			break
		}
		vi := viewItem{
			Title:     oneLine(it.Title, maxTitle),
			Level:     it.Level,
			LevelText: l.level(it.Level),
			URL:       link(it.URL),
		}
		if !it.Time.IsZero() {
			vi.Time = l.time(it.Time)
		}
		if it.Count > 1 {
			vi.Count = l.count(it.Count)
		}
		v.Items = append(v.Items, vi)
	}
	return v
}
