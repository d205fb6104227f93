// SPDX-License-Identifier: Apache-2.0

//go:build browser

package app

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAlertJourney: an sshd login from a public address arrives over
// syslog and becomes an alert (koban's own rule pack); the analyst finds it
// in the queue, opens it, acknowledges it, then marks it a false positive
// with "suppress similar" on its host; the same login again raises no new
// alert and counts as a hit of the suppression.
func TestBrowserAlertJourney(t *testing.T) {
	dir := t.TempDir()
	syslogAddr := freePort(t)
	cfgPath := filepath.Join(dir, "koban.yaml")
	if err := os.WriteFile(cfgPath, []byte("intake:\n  syslog:\n    tcp: "+syslogAddr+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, nil, "--config", cfgPath)
	send := func() {
		t.Helper()
		conn, err := dialListener(t, syslogAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ts := time.Now().UTC().Format(time.RFC3339)
		if _, err := fmt.Fprintf(conn, "<38>1 %s web01 sshd 4242 - - Accepted password for root from 203.0.113.9 port 50022 ssh2\n", ts); err != nil {
			t.Fatal(err)
		}
	}

	ctx, probs := newChrome(t, 1280, 900)
	const pw = "a long passphrase for the koban box"
	signIn(t, ctx, s.url, "admin", s.password)
	do(t, ctx, "choose a password",
		chromedp.WaitVisible(chromedp.ID("must-change")),
		chromedp.SendKeys(chromedp.ID("current_password"), s.password),
		chromedp.SendKeys(chromedp.ID("new_password"), pw),
		chromedp.SendKeys(chromedp.ID("confirm_password"), pw),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	do(t, ctx, "an empty queue", chromedp.Click(chromedp.ID("nav-alerts")), chromedp.WaitVisible(chromedp.ID("no-alerts")))
	expectText(t, ctx, "empty queue", "No alerts yet")

	send()
	// The queue does not refresh by itself: reload until the alert is there.
	present := func(id string) bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#`+id+`").length`))
		return err == nil && n > 0
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		do(t, ctx, "reload the queue", chromedp.Navigate(s.url+"/alerts"), chromedp.WaitVisible(chromedp.ID("alerts-filter")))
		if present("alerts-table") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert within 20 s of the syslog message; the page says:\n%s", bodyText(t, ctx))
		}
	}
	// The page that first showed the alert may have counted the menu badge
	// a moment before the alert was stored: show it once more.
	do(t, ctx, "reload the queue", chromedp.Navigate(s.url+"/alerts"), chromedp.WaitVisible(chromedp.ID("alerts-table")))
	expectText(t, ctx, "queue", "SSH Login From a Public IP Address", "web01", "Medium", "New")
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#nav-alerts-count [aria-hidden]").textContent`)); err != nil || got != "1" {
		t.Errorf("new alerts beside Alerts in the menu: %q (%v), want 1", got, err)
	}
	a11y(t, ctx, "alert queue")
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#alerts-table a.alert-title").id`))
	if err != nil || !strings.HasPrefix(title, "open-") {
		t.Fatalf("no link to the alert (%q, %v)", title, err)
	}
	id := strings.TrimPrefix(title, "open-")

	do(t, ctx, "open the alert", chromedp.Click(chromedp.ID(title)), chromedp.WaitVisible(chromedp.ID("alert-facts")))
	expectText(t, ctx, "alert page", "SSH Login From a Public IP Address", "web01", "Event context", "History")
	a11y(t, ctx, "alert page")
	do(t, ctx, "acknowledge",
		chromedp.Click(chromedp.ID("to-acknowledged")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if got := text(t, ctx, "alert-state"); got != "Acknowledged" {
		t.Errorf("after acknowledging: state %q", got)
	}
	// The page has a notice already: remove it to see the next one come.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("flash").remove() === undefined`)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "suppress similar on the host",
		chromedp.SendKeys(chromedp.ID("suppress-reason"), "our own admin's VPN exit"),
		chromedp.SetValue(chromedp.ID("suppress-expiry"), "30d"),
		chromedp.Click(chromedp.ID("suppress-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if got := text(t, ctx, "flash"); got != "Similar alerts are suppressed and this one is marked false positive." {
		t.Errorf("after suppressing: notice %q", got)
	}
	if got := text(t, ctx, "alert-state"); got != "False positive" {
		t.Errorf("after suppressing: state %q", got)
	}
	if got := text(t, ctx, "state-reason"); got != "our own admin's VPN exit" {
		t.Errorf("after suppressing: reason %q", got)
	}
	expectText(t, ctx, "history", "State changed", "Acknowledged", "Suppression made")
	a11y(t, ctx, "alert page after suppressing")

	// The same login again: counted by the suppression, no new alert.
	send()
	hits := regexp.MustCompile(`(?s)<td class="num">1</td>`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		do(t, ctx, "reload the suppressions", chromedp.Navigate(s.url+"/alerts/exclusions"), chromedp.WaitVisible(chromedp.ID("exclusions-table")))
		html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.ID("exclusions-table")))
		if err == nil && hits.MatchString(html) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second login was not counted by the suppression within 20 s; the page says:\n%s", bodyText(t, ctx))
		}
	}
	expectText(t, ctx, "suppressions", "web01", "our own admin's VPN exit", "admin", "from alert "+id)
	a11y(t, ctx, "suppressions")
	do(t, ctx, "every alert", chromedp.Navigate(s.url+"/alerts?state=all"), chromedp.WaitVisible(chromedp.ID("alerts-table")))
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#alerts-table tbody tr").length`))
	if err != nil || n != 1 {
		t.Errorf("alerts after the suppressed login: %d (%v), want the one", n, err)
	}
	if present("nav-alerts-count") {
		t.Error("the menu still counts a new alert")
	}
	for _, p := range probs.all() {
		if !strings.Contains(p, "favicon.ico") {
			t.Errorf("the browser reported: %s", p)
		}
	}
}
