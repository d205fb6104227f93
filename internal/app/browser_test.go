// SPDX-License-Identifier: Apache-2.0

//go:build browser

package app

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/eventstore/duckdb"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/intake"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/web"
)

// The browser journeys run koban in-process and drive Debian's chromium
// through the DevTools protocol. `make test` builds with -tags browser and
// sets KOBAN_TEST_CHROMIUM.

func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KOBAN_TEST_CHROMIUM")
	if p == "" {
		p, _ = exec.LookPath("chromium")
	}
	if p == "" {
		if os.Getenv("CI") != "" || os.Getenv("KOBAN_TEST_STRICT") != "" {
			t.Fatal("chromium is required under CI and make test (apt-get install chromium)")
		}
		t.Skip("chromium not found; set KOBAN_TEST_CHROMIUM")
	}
	return p
}

// problems collects what the page complains about: CSP violations, script
// errors, failed loads.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(s string) {
	p.mu.Lock()
	p.list = append(p.list, s)
	p.mu.Unlock()
}

func (p *problems) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// newChrome starts a headless chromium with a fresh profile, English UI and
// the given window size, and returns its context and what it logs.
func newChrome(t *testing.T, width, height int) (context.Context, *problems) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("lang", "en-US"), chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	p := &problems{}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				p.add(string(e.Entry.Source) + ": " + e.Entry.Text)
			}
		case *runtime.EventExceptionThrown:
			p.add("exception: " + e.ExceptionDetails.Text)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, p
}

func do(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		shot, serr := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if serr != nil {
			t.Logf("no screenshot: %v", serr)
		}
		loc, lerr := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Logf("at %q (%v), %d bytes of screenshot; page says:\n%s", loc, lerr, len(shot), body)
		if len(shot) > 0 {
			f := os.TempDir() + "/koban-" + t.Name() + ".png"
			_ = os.WriteFile(f, shot, 0o600)
			t.Logf("screenshot: %s", f)
		}
		t.Fatalf("%s: %v", step, err)
	}
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("body text: %v", err)
	}
	return s
}

func expectText(t *testing.T, ctx context.Context, where string, wants ...string) {
	t.Helper()
	b := bodyText(t, ctx)
	for _, w := range wants {
		if !strings.Contains(b, w) {
			t.Errorf("%s: page lacks %q; it says:\n%s", where, w, b)
		}
	}
}

// a11yScript lists what makes a page hard to use with a screen reader or
// low vision: form fields without labels, images without alt text, unnamed
// controls, a missing lang or h1, and text whose contrast with its
// background is below WCAG AA (4.5:1, 3:1 for large text).
const a11yScript = `(function(){
 var probs = [];
 function visible(e){ return !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length); }
 document.querySelectorAll("input,select,textarea").forEach(function(e){
  if (e.type === "hidden" || e.hidden || !visible(e)) return;
  var ok = (e.id && document.querySelector('label[for="' + e.id + '"]')) || e.getAttribute("aria-label") || e.closest("label");
  if (!ok) probs.push("field without a label: " + (e.name || e.id));
 });
 document.querySelectorAll("img").forEach(function(e){ if (!e.hasAttribute("alt")) probs.push("image without alt: " + e.src.slice(0, 40)); });
 document.querySelectorAll("button,a").forEach(function(e){
  if (visible(e) && !e.textContent.trim() && !e.getAttribute("aria-label")) probs.push("unnamed control: " + e.outerHTML.slice(0, 60));
 });
 if (!document.documentElement.lang) probs.push("no lang on html");
 if (document.querySelectorAll("h1").length !== 1) probs.push(document.querySelectorAll("h1").length + " h1 elements");
 function rgb(s){ var m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; var p = m[1].split(",").map(parseFloat); return {r:p[0], g:p[1], b:p[2], a: p.length > 3 ? p[3] : 1}; }
 function lum(c){ return [c.r, c.g, c.b].map(function(v){ v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }).reduce(function(a, v, i){ return a + v * [0.2126, 0.7152, 0.0722][i]; }, 0); }
 function bg(e){ while (e) { var c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.9) return c; e = e.parentElement; } return {r:255, g:255, b:255, a:1}; }
 document.querySelectorAll("body *").forEach(function(e){
  if (!visible(e)) return;
  var own = Array.prototype.some.call(e.childNodes, function(n){ return n.nodeType === 3 && n.textContent.trim(); });
  if (!own) return;
  var st = getComputedStyle(e), l1 = lum(rgb(st.color)), l2 = lum(bg(e));
  var ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
  var size = parseFloat(st.fontSize), large = size >= 24 || (size >= 18.66 && parseInt(st.fontWeight, 10) >= 700);
  if (ratio < (large ? 3 : 4.5)) probs.push("contrast " + ratio.toFixed(2) + ":1 for " + e.tagName + " \"" + e.textContent.trim().slice(0, 30) + "\"");
 });
 return probs;
})()`

func a11y(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	probs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yScript))
	if err != nil {
		t.Fatalf("%s: accessibility check: %v", where, err)
	}
	for _, p := range probs {
		t.Errorf("%s: %s", where, p)
	}
}

func signIn(t *testing.T, ctx context.Context, base, name, password string) {
	t.Helper()
	do(t, ctx, "open the sign-in page "+name,
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin-submit")),
	)
}

// TestBrowserFirstRunJourney: sign in with the first-run password, choose a
// new one, switch to Japanese and back, create a user, sign out; the new
// user then signs in and sees only what their role allows.
func TestBrowserFirstRunJourney(t *testing.T) {
	s := startServe(t, t.TempDir(), nil)
	ctx, probs := newChrome(t, 1280, 900)

	do(t, ctx, "sign-in page", chromedp.Navigate(s.url+"/signin"), chromedp.WaitVisible(chromedp.ID("name")))
	a11y(t, ctx, "sign-in page")
	signIn(t, ctx, s.url, "admin", s.password)
	do(t, ctx, "forced to the password form", chromedp.WaitVisible(chromedp.ID("must-change")))
	expectText(t, ctx, "password form", "Change password", "Please choose your own password before going on.")
	a11y(t, ctx, "password form")

	const newPW = "a long passphrase for the koban box"
	do(t, ctx, "choose a new password",
		chromedp.SendKeys(chromedp.ID("current_password"), s.password),
		chromedp.SendKeys(chromedp.ID("new_password"), newPW),
		chromedp.SendKeys(chromedp.ID("confirm_password"), newPW),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	if got := text(t, ctx, "flash"); got != "Your password was changed. Other devices were signed out." {
		t.Errorf("after changing the password: notice %q", got)
	}
	expectText(t, ctx, "settings in English", "Settings", "Language and time zone", "Signed-in devices", "Dashboard", "Incidents", "Audit trail")
	a11y(t, ctx, "settings")

	do(t, ctx, "switch to Japanese",
		chromedp.Click(chromedp.ID("lang-ja")),
		chromedp.WaitVisible(chromedp.ID("lang-en")),
	)
	expectText(t, ctx, "settings in Japanese", "設定", "言語とタイムゾーン", "サインイン中の端末", "ダッシュボード", "インシデント", "監査ログ", "サインアウト", "管理者")
	if lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || lang != "ja" {
		t.Errorf("html lang = %q, %v; want ja", lang, err)
	}
	do(t, ctx, "Japanese dashboard",
		chromedp.Click(chromedp.ID("nav-dashboard")),
		chromedp.WaitVisible(chromedp.ID("coming")),
	)
	expectText(t, ctx, "dashboard in Japanese", "koban でできること", "アラート", "脆弱性", "組み込み (SQLite)", "Asia/Tokyo")
	a11y(t, ctx, "dashboard in Japanese")

	do(t, ctx, "switch back to English",
		chromedp.Click(chromedp.ID("lang-en")),
		chromedp.WaitVisible(chromedp.ID("lang-ja")),
	)
	expectText(t, ctx, "dashboard in English", "What koban does for you", "Alerts", "Vulnerabilities", "embedded (SQLite)")

	do(t, ctx, "open the new-user form",
		chromedp.Click(chromedp.ID("nav-users")),
		chromedp.WaitVisible(chromedp.ID("new-user")),
		chromedp.Click(chromedp.ID("new-user")),
		chromedp.WaitVisible(chromedp.ID("create-user")),
	)
	do(t, ctx, "submit an invalid user",
		chromedp.SendKeys(chromedp.ID("name"), "Hanako Yamada"),
		chromedp.Click(chromedp.ID("create-user")),
		chromedp.WaitVisible(chromedp.ID("error-summary")),
	)
	expectText(t, ctx, "invalid user name", "Please correct the following", "may only contain lower-case letters")
	a11y(t, ctx, "new-user form with errors")
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "error-summary" {
		t.Errorf("after an invalid submission focus is on #%s, want the error summary", focused)
	}
	do(t, ctx, "create the user",
		chromedp.Clear(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "hanako"),
		chromedp.SendKeys(chromedp.ID("display_name"), "山田 花子"),
		chromedp.SetValue(chromedp.ID("role"), "responder"),
		chromedp.Click(chromedp.ID("create-user")),
		chromedp.WaitVisible(chromedp.ID("shown-password")),
	)
	userPW := text(t, ctx, "shown-password")
	if !pwLine.MatchString("    " + userPW) {
		t.Fatalf("shown password %q does not look generated", userPW)
	}
	expectText(t, ctx, "user created", "User created", "This password is shown only now.")
	a11y(t, ctx, "password shown once")
	do(t, ctx, "back to the list", chromedp.Click(chromedp.ID("to-user")), chromedp.WaitVisible(chromedp.ID("save-role")))
	expectText(t, ctx, "user page", "hanako", "Responder")

	do(t, ctx, "sign out",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("signin-message")),
	)
	if got := text(t, ctx, "signin-message"); got != "You have signed out." {
		t.Errorf("after signing out: %q", got)
	}
	do(t, ctx, "signed out means signed out",
		chromedp.Navigate(s.url+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("signin-submit")),
	)

	// The new user: must choose a password, then sees a responder's menu.
	signIn(t, ctx, s.url, "hanako", userPW)
	do(t, ctx, "hanako must change the password",
		chromedp.WaitVisible(chromedp.ID("must-change")),
		chromedp.SendKeys(chromedp.ID("current_password"), userPW),
		chromedp.SendKeys(chromedp.ID("new_password"), "my own spring passphrase"),
		chromedp.SendKeys(chromedp.ID("confirm_password"), "my own spring passphrase"),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	expectText(t, ctx, "responder's settings", "山田 花子", "Incidents")
	if b := bodyText(t, ctx); strings.Contains(b, "Audit trail") || strings.Contains(b, "API tokens") {
		t.Errorf("a responder sees administration links:\n%s", b)
	}
	do(t, ctx, "a responder may not open the user list",
		chromedp.Navigate(s.url+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("error-message")),
	)
	expectText(t, ctx, "403 page", "Not allowed", "Your role does not allow this.")
	a11y(t, ctx, "403 page")

	for _, p := range probs.all() {
		// The journey provokes a 400 (invalid user) and a 403 (the
		// responder on the user list) on purpose; chromium logs both.
		if strings.Contains(p, "status of 400") || strings.Contains(p, "status of 403") {
			continue
		}
		t.Errorf("the browser reported: %s", p)
	}
}

// TestBrowserPhoneLayout: on a phone-sized screen the menu folds behind a
// button that opens it, and forms fit the width.
func TestBrowserPhoneLayout(t *testing.T) {
	s := startServe(t, t.TempDir(), nil)
	ctx, probs := newChrome(t, 390, 844)
	signIn(t, ctx, s.url, "admin", s.password)
	const pw = "a long passphrase for the koban box"
	do(t, ctx, "change password on a phone",
		chromedp.WaitVisible(chromedp.ID("must-change")),
		chromedp.SendKeys(chromedp.ID("current_password"), s.password),
		chromedp.SendKeys(chromedp.ID("new_password"), pw),
		chromedp.SendKeys(chromedp.ID("confirm_password"), pw),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	visible := func(id string) bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){var e=document.getElementById("`+id+`");return !!e && e.offsetParent!==null;})()`))
		if err != nil {
			t.Fatalf("visibility of #%s: %v", id, err)
		}
		return v
	}
	if !visible("menu-toggle") || visible("nav") {
		t.Errorf("phone layout: menu button visible %v, menu visible %v; want the menu folded behind the button", visible("menu-toggle"), visible("nav"))
	}
	do(t, ctx, "open the menu", chromedp.Click(chromedp.ID("menu-toggle")), chromedp.WaitVisible(chromedp.ID("nav-users")))
	a11y(t, ctx, "phone settings with the menu open")
	if exp, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("menu-toggle"), "aria-expanded")); err != nil || exp.Value != "true" {
		t.Errorf("aria-expanded after opening: %+v %v", exp, err)
	}
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the page scrolls sideways on a phone (%v)", err)
	}
	for _, p := range probs.all() {
		if !strings.Contains(p, "favicon.ico") {
			t.Errorf("the browser reported: %s", p)
		}
	}
}

// TestBrowserAuditOlderEntries: the audit trail loads older entries in
// place with htmx, under the CSP that allows no inline script.
func TestBrowserAuditOlderEntries(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, nil)
	for i := 0; i < 30; i++ { // two audit entries each: creation and role change
		name := "user" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if _, _, err := run(t, dir, "user", "add", name, "--role", "viewer"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := run(t, dir, "user", "set-role", name, "analyst"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := runIn(t, dir, "a long passphrase for the koban box\n", nil, "user", "set-password", "admin", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	ctx, probs := newChrome(t, 1280, 900)
	signIn(t, ctx, s.url, "admin", "a long passphrase for the koban box")
	do(t, ctx, "change the reset password",
		chromedp.WaitVisible(chromedp.ID("must-change")),
		chromedp.SendKeys(chromedp.ID("current_password"), "a long passphrase for the koban box"),
		chromedp.SendKeys(chromedp.ID("new_password"), "another long passphrase here"),
		chromedp.SendKeys(chromedp.ID("confirm_password"), "another long passphrase here"),
		chromedp.Click(chromedp.ID("password-submit")),
		chromedp.WaitVisible(chromedp.ID("flash")),
		chromedp.Navigate(s.url+"/admin/audit"),
		chromedp.WaitVisible(chromedp.ID("audit-more")),
	)
	rows := func() int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#audit-rows tr:not(.more)").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 50 {
		t.Errorf("first page shows %d entries, want 50", n)
	}
	do(t, ctx, "load older entries", chromedp.Click(chromedp.ID("audit-more")), chromedp.WaitNotPresent(chromedp.ID("audit-more")))
	if n := rows(); n < 60 {
		t.Errorf("after loading older entries: %d rows, want all of them", n)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != s.url+"/admin/audit" {
		t.Errorf("htmx navigated away to %s instead of swapping rows in", loc)
	}
	expectText(t, ctx, "audit trail", "user.create", "user.set_role", "auth.signin", "cli:")
	a11y(t, ctx, "audit trail")
	for _, p := range probs.all() {
		t.Errorf("the browser reported: %s", p)
	}
}

// searchServer runs the web UI over a DuckDB event store holding events,
// with an analyst who may search: serve does not open the event store yet,
// so the test wires the same parts serve does.
func searchServer(t *testing.T, evs []event.Event, sources func() []intake.SourceSnapshot) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(dir, "koban.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	authSvc, err := auth.New(db, auth.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 12 * time.Hour,
		Throttle: auth.ThrottlePolicy{MaxFailuresPerUser: 5, MaxFailuresPerIP: 20, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: time.Hour}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := authSvc.CreateUser(ctx, audit.System, auth.NewUser{Name: "ana", Role: auth.RoleAnalyst, Password: searchPassword}); err != nil {
		t.Fatal(err)
	}
	events, err := duckdb.Open(filepath.Join(dir, "events"), duckdb.Options{Threads: 1, MemoryBytes: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { events.Close() })
	if err := events.Insert(ctx, evs, "1"); err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Options{Auth: authSvc, Audit: db, Catalog: cat, Health: db.Ping, Version: "test",
		StoreKind: "sqlite", Events: events, Sources: sources})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

const searchPassword = "seven quiet words guard this test"

// settled waits for a search to be shown: the chart drawn (or its message
// shown) and the page scrolled to its top.
var settled = until(`(function(){var h=document.getElementById("histogram");return !!h && h.getAttribute("aria-busy")==="false" && window.scrollY===0;})()`)

// until waits for a JavaScript expression to become true.
func until(expr string, opts ...chromedp.PollOption) chromedp.Action[chromedp.Void] {
	p := chromedp.Poll[bool](expr, opts...)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := p(ctx, t)
		return chromedp.Void{}, err
	}
}

// searchEvents are n Windows logon events over the last hours: every
// fourth from dc01, every third a failed logon (4625).
func searchEvents(now time.Time, n int) []event.Event {
	var out []event.Event
	for i := 0; i < n; i++ {
		ts := now.Add(-time.Duration(i) * 97 * time.Second)
		host, id := "ws"+strconv.Itoa(i%5), "4624"
		if i%4 == 0 {
			host = "dc01"
		}
		if i%3 == 0 {
			id = "4625"
		}
		e := event.Event{ID: event.NewID(ts.UnixNano()), Time: ts.UnixNano(), Received: ts.UnixNano(), Host: host,
			Source: "winlogbeat", Log: event.LogSource{Product: "windows", Service: "security"}}
		e.Add("EventID", id)
		e.Add("TargetUserName", "user"+strconv.Itoa(i%7))
		e.Add("LogonType", "3")
		e.Raw = []byte(fmt.Sprintf(`{"EventID":%s,"Computer":%q,"TargetUserName":"user%d"}`, id, host, i%7))
		out = append(out, e)
	}
	return out
}

// TestBrowserEventSearch: an analyst opens the search from the menu, sees
// the histogram, expands an event, runs a query (through htmx, under the
// CSP), narrows it from the fields sidebar, loads older events, meets a
// query error beside the box, drags across the chart to narrow the time
// range, and reads the page in Japanese.
func TestBrowserEventSearch(t *testing.T) {
	now := time.Now()
	evs := searchEvents(now, 200)
	base := searchServer(t, evs, nil)
	ctx, probs := newChrome(t, 1280, 900)
	signIn(t, ctx, base, "ana", searchPassword)
	do(t, ctx, "open the search from the menu",
		chromedp.WaitVisible(chromedp.ID("nav-hunting")),
		chromedp.Click(chromedp.ID("nav-hunting")),
		chromedp.WaitVisible(chromedp.CSS("#histogram canvas")),
		settled,
	)
	expectText(t, ctx, "search page", "Event search", "Top values", "200 events from")
	a11y(t, ctx, "search page")
	rows := func() int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#events-table details.event").length`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 50 {
		t.Errorf("first page: %d events, want 50", n)
	}

	do(t, ctx, "expand the newest event",
		chromedp.Click(chromedp.CSS("#events-table details.event > summary")),
		chromedp.WaitVisible(chromedp.CSS("#events-table details.event[open] .fields-table")),
	)
	expectText(t, ctx, "expanded event", "TargetUserName", "Raw event as received", `"Computer":"dc01"`)
	do(t, ctx, "open the event on its own page",
		chromedp.Click(chromedp.CSS("#events-table details.event[open] a[id^=open-]")),
		chromedp.WaitVisible(chromedp.ID("back-to-search")),
	)
	expectText(t, ctx, "event page", "Event id", "LogonType", `"Computer":"dc01"`)
	a11y(t, ctx, "event page")
	do(t, ctx, "back to the search", chromedp.Click(chromedp.ID("back-to-search")), chromedp.WaitVisible(chromedp.CSS("#histogram canvas")))

	// A mark on the window survives htmx swaps but not a page load.
	marked := func(step string) {
		t.Helper()
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.kobanMark === 1`)); err != nil || !ok {
			t.Errorf("%s loaded a whole page instead of swapping the results in with htmx (%v)", step, err)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.kobanMark = 1`)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "run a query",
		chromedp.Clear(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "EventID:4625 AND host:dc01"),
		chromedp.Click(chromedp.ID("search-submit")),
	)
	want := 0
	for _, e := range evs {
		if id, _ := e.Lookup("EventID"); id == "4625" && e.Host == "dc01" {
			want++
		}
	}
	do(t, ctx, "the count of matches", until(`/\b`+strconv.Itoa(want)+` events from/.test(document.getElementById("result-count").textContent)`), settled)
	hosts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#events-table tr.event-meta td:nth-child(2)")).map(function(td){return td.textContent})`))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if h != "dc01" {
			t.Errorf("query host:dc01 shows an event of %q", h)
		}
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "q=EventID") {
		t.Errorf("after the query the address is %s: the search cannot be bookmarked", loc)
	}
	marked("the query")

	// The most common user name among the matches, first in the sidebar.
	const topUser = `//aside[@id="fields"]//h3[code="TargetUserName"]/following-sibling::ul[1]/li[1]/a`
	user, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(topUser)))
	if err != nil || !strings.HasPrefix(user, "user") {
		t.Fatalf("top user name in the sidebar: %q %v", user, err)
	}
	do(t, ctx, "narrow by a top value",
		chromedp.Click(chromedp.Search(topUser)),
		until(`document.getElementById("q").value.indexOf('TargetUserName:"`+user+`"') >= 0`),
		settled,
	)
	marked("choosing a top value")
	users, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#events-table details.event > summary")).map(function(s){return s.textContent})`))
	if err != nil || len(users) == 0 {
		t.Fatalf("after choosing %s: %d rows (%v)", user, len(users), err)
	}
	for _, u := range users {
		if !strings.Contains(u, "TargetUserName="+user+" ") {
			t.Errorf("after choosing %s a row says %q", user, u)
		}
	}

	do(t, ctx, "load older events",
		chromedp.Navigate(base+"/events?range=24h"),
		chromedp.WaitVisible(chromedp.ID("events-more")),
		chromedp.Click(chromedp.ID("events-more")),
		until(`document.querySelectorAll("#events-table details.event").length > 50`),
	)
	if n := rows(); n != 100 {
		t.Errorf("after loading older events: %d, want 100", n)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != base+"/events?range=24h" {
		t.Errorf("loading older events navigated to %s instead of adding rows", loc)
	}

	const bad = `host:dc01 AND (EventID:4625`
	do(t, ctx, "a query error",
		chromedp.Clear(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), bad),
		chromedp.Click(chromedp.ID("search-submit")),
		chromedp.WaitVisible(chromedp.ID("q-error")),
	)
	if inv, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("q"), "aria-invalid")); err != nil || inv.Value != "true" {
		t.Errorf("the query box is not marked invalid: %+v %v", inv, err)
	}
	if msg, col := text(t, ctx, "q-error"), strconv.Itoa(strings.Index(bad, "(")+1); !strings.Contains(msg, col) {
		t.Errorf("the query error %q does not name column %s, the unclosed parenthesis", msg, col)
	}
	a11y(t, ctx, "search page with a query error")

	do(t, ctx, "drag across the chart",
		chromedp.Navigate(base+"/events?range=24h"),
		chromedp.WaitVisible(chromedp.CSS("#histogram .u-over")),
	)
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(function(){var r=document.querySelector("#histogram .u-over").getBoundingClientRect();return [r.left,r.top,r.width,r.height];})()`))
	if err != nil || len(box) != 4 {
		t.Fatalf("chart area: %v %v", box, err)
	}
	y := box[1] + box[3]/2
	do(t, ctx, "drag across the last hours",
		chromedp.MouseEvent(chromedp.MouseMoved, box[0]+box[2]*0.90, y),
		chromedp.MouseEvent(chromedp.MousePressed, box[0]+box[2]*0.90, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, box[0]+box[2]*0.95, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseMoved, box[0]+box[2]*0.99, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, box[0]+box[2]*0.99, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	)
	// The chart loads the narrowed search as a new page.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.Contains(loc, "range=custom") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dragging across the chart did not narrow the time range")
		}
		time.Sleep(100 * time.Millisecond)
	}
	do(t, ctx, "the narrowed search", chromedp.WaitVisible(chromedp.ID("result-count")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("range"))); err != nil || v != "custom" {
		t.Errorf("after dragging the range is %q (%v), want custom", v, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`parseInt(document.getElementById("result-count").textContent, 10)`)); err != nil || n <= 0 || n >= len(evs) {
		t.Errorf("after narrowing to the last tenth of the day: %d events (%v), want some but not all %d", n, err, len(evs))
	}

	do(t, ctx, "Japanese",
		chromedp.Click(chromedp.ID("lang-ja")),
		chromedp.WaitVisible(chromedp.ID("lang-en")),
		chromedp.WaitVisible(chromedp.CSS("#histogram canvas")),
	)
	expectText(t, ctx, "search page in Japanese", "イベント検索", "検索条件の書き方", "日時 (Asia/Tokyo)")
	a11y(t, ctx, "search page in Japanese")
	for _, p := range probs.all() {
		t.Errorf("the browser reported: %s", p)
	}
}

// TestBrowserSources: the sources page flags a silent host, refreshes
// itself with htmx under the CSP and passes the accessibility checks.
func TestBrowserSources(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	sources := func() []intake.SourceSnapshot {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		now := time.Now()
		return []intake.SourceSnapshot{{Name: "syslog-tcp", Kind: "syslog-tcp", Events: int64(1000 * n), PerSecond: 2.5,
			LastEvent: now.Add(-time.Second), Hosts: []intake.HostSnapshot{
				{Host: "fw01", Last: now.Add(-2 * time.Hour), UsualGap: 5 * time.Minute, Silent: true},
				{Host: "web01", Last: now.Add(-time.Second), UsualGap: time.Minute},
			}}}
	}
	base := searchServer(t, nil, sources)
	ctx, probs := newChrome(t, 1280, 900)
	signIn(t, ctx, base, "ana", searchPassword)
	do(t, ctx, "open the sources page",
		chromedp.WaitVisible(chromedp.ID("nav-sources")),
		chromedp.Click(chromedp.ID("nav-sources")),
		chromedp.WaitVisible(chromedp.ID("silent-summary")),
	)
	expectText(t, ctx, "sources page", "1 host has stopped sending.", "fw01", "silent", "1,000")
	a11y(t, ctx, "sources page")
	do(t, ctx, "the figures refresh", until(`document.body.textContent.indexOf("2,000") >= 0`, chromedp.WithPollingTimeout(14*time.Second)))
	for _, p := range probs.all() {
		t.Errorf("the browser reported: %s", p)
	}
}
