// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/notify"
)

// notifier delivers alert notifications through the configured channels:
// it is the alert.Sender the router calls.
type notifier struct {
	channels map[string]notify.Channel
	lang     map[string]i18n.Lang
	cat      *i18n.Catalog
	baseURL  string
}

// newNotifier builds the channels of the configuration and the routes that
// send to them; no channels means no router.
func newNotifier(c config.Config, cat *i18n.Catalog, baseURL string) (*notifier, []alert.Route, error) {
	if len(c.Notify.Channels) == 0 {
		return nil, nil, nil
	}
	var allow []netip.Prefix
	for _, s := range c.Notify.Allow {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, nil, fmt.Errorf("notify.allow: %q is neither an address nor a CIDR", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		allow = append(allow, p)
	}
	opt := notify.Options{Catalog: cat, Guard: notify.Guard{AllowInternal: c.Notify.AllowInternal, Allow: allow}}
	n := &notifier{channels: map[string]notify.Channel{}, lang: map[string]i18n.Lang{}, cat: cat, baseURL: strings.TrimSuffix(baseURL, "/")}
	var routes []alert.Route
	for _, ch := range c.Notify.Channels {
		var (
			nc  notify.Channel
			err error
		)
		switch ch.Kind {
		case "email":
			s := c.Notify.SMTP
			nc, err = notify.NewSMTP(notify.SMTPConfig{Name: ch.Name, Host: s.Host, Port: s.Port, TLS: s.TLS,
				Username: s.Username, Password: s.Password.Reveal(), From: s.From, To: ch.To, Timeout: s.Timeout.D()}, opt)
		default:
			nc, err = notify.NewWebhook(notify.WebhookConfig{Name: ch.Name, Kind: ch.Kind, URL: ch.URL.Reveal(), Secret: ch.Secret.Reveal(), Timeout: ch.Timeout.D()}, opt)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("notify channel %s: %w", ch.Name, err)
		}
		n.channels[ch.Name] = nc
		n.lang[ch.Name] = i18n.Lang(ch.Lang)
		if !n.lang[ch.Name].Valid() {
			n.lang[ch.Name] = i18n.English
		}
		min := alert.Level(ch.MinLevel)
		if min == "" {
			min = "high"
		}
		routes = append(routes, alert.Route{Channel: ch.Name, MinLevel: min, RatePerHour: ch.RatePerHour, Digest: ch.Digest.D()})
	}
	return n, routes, nil
}

// Send delivers one notification to one channel, translated into the
// channel's language.
func (n *notifier) Send(ctx context.Context, channel string, no alert.Notification) error {
	ch, ok := n.channels[channel]
	if !ok {
		return fmt.Errorf("no notification channel %q", channel)
	}
	return ch.Send(ctx, n.message(n.lang[channel], no))
}

func (n *notifier) alertURL(a alert.Alert) string {
	if n.baseURL == "" {
		return ""
	}
	return n.baseURL + "/alerts/" + strconv.FormatInt(a.ID, 10)
}

// message turns an alert notification into a channel message.
func (n *notifier) message(l i18n.Lang, no alert.Notification) notify.Message {
	t := func(id string, args ...any) string { return n.cat.T(l, id, args...) }
	if no.Kind == alert.KindDigest {
		m := notify.Message{Lang: l, Level: notify.LevelInformational, URL: n.baseURL + "/alerts",
			Title: t("notifymsg.digest_title", "count", len(no.Digest)+no.Omitted)}
		if n.baseURL == "" {
			m.URL = ""
		}
		for _, a := range no.Digest {
			if alert.Level(m.Level).Compare(a.Level) < 0 {
				m.Level = notify.Level(a.Level)
			}
			m.Items = append(m.Items, notify.Item{Title: a.RuleTitle, Level: notify.Level(a.Level), URL: n.alertURL(a), Time: a.LastSeen, Count: int(a.Count)})
		}
		m.Summary = t("notifymsg.digest_summary", "count", len(no.Digest), "omitted", no.Omitted)
		return m
	}
	a := no.Alert
	m := notify.Message{Lang: l, Level: notify.Level(a.Level), Title: a.RuleTitle, URL: n.alertURL(*a),
		Summary: t("notifymsg.alert_summary", "rule", a.RuleID, "host", a.Host, "count", a.Count)}
	add := func(name, v string) {
		if v != "" {
			m.Facts = append(m.Facts, notify.Fact{Name: name, Value: v})
		}
	}
	add(t("notifymsg.rule"), a.RuleID)
	add(t("notifymsg.host"), a.Host)
	add(t("notifymsg.user"), a.User)
	add(t("notifymsg.attack"), strings.Join(alert.Techniques(a.Tags), ", "))
	for _, f := range a.Fields {
		add(f.Name, f.Value)
	}
	return m
}
