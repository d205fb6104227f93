// SPDX-License-Identifier: Apache-2.0

//go:build browser

package app

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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
