// SPDX-License-Identifier: Apache-2.0

//go:build browser

package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// The second half of TestBrowserIncidentEnglish: clocks, tasks, review,
// report drafts, closing and the timeline.

// dayEnd is the PPC clocks' due time as the overview writes it: the end of
// the calendar day days days after the day of awareness, in Japan.
func (j *incENJourney) dayEnd(days int) string {
	tokyo := incENTokyo(j.t)
	y, m, d := j.aware.In(tokyo).Date()
	return time.Date(y, m, d+days, 12, 0, 0, 0, tokyo).Format("2006-01-02") + " 23:59 JST"
}

// clockDue is the due time the overview's clock kind shows.
func (j *incENJourney) clockDue(kind string) string {
	j.t.Helper()
	if incENCount(j.t, j.ctx, "#clock-"+kind) == 0 {
		j.t.Errorf("no %s clock; the clocks say:\n%s", kind, text(j.t, j.ctx, "clocks"))
		return ""
	}
	return incENEval[string](j.t, j.ctx, `document.querySelector("#clock-`+kind+` .clock-due").textContent`)
}

// setFlags ticks flags on the overview and saves them.
func (j *incENJourney) setFlags(flags ...string) {
	j.t.Helper()
	acts := []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.ID("flags-form"))}
	for _, f := range flags {
		acts = append(acts, chromedp.Click(chromedp.ID("ov-flag-"+f)))
	}
	do(j.t, j.ctx, "tick "+strings.Join(flags, ", "), acts...)
	j.load("save the flags", chromedp.Click(chromedp.ID("flags-submit")))
	do(j.t, j.ctx, "the clocks", chromedp.WaitVisible(chromedp.ID("clocks")))
}

// assessAndFlag answers the severity questionnaire (high), checks the
// service-level clocks, ticks the personal-data flags and checks the PPC
// clocks against the deadlines the rules give, then moves the incident to
// containment.
func (j *incENJourney) assessAndFlag() {
	t, ctx := j.t, j.ctx
	j.load("the overview", chromedp.Click(chromedp.ID("tab-overview")))
	do(t, ctx, "answer the severity questionnaire",
		chromedp.WaitVisible(chromedp.ID("assess-form")),
		chromedp.Click(chromedp.ID("assess-functional-high")),
		chromedp.Click(chromedp.ID("assess-information-personal")),
		chromedp.Clear(chromedp.ID("assess-people")),
		chromedp.SendKeys(chromedp.ID("assess-people"), "120"),
		chromedp.Click(chromedp.ID("assess-recoverability-supplemented")),
		chromedp.Click(chromedp.ID("assess-criticality-medium")),
	)
	j.load("assess the severity", chromedp.Click(chromedp.ID("assess-submit")))
	do(t, ctx, "the assessed severity", chromedp.WaitVisible(chromedp.ID("assessed")))
	if got := text(t, ctx, "incident-severity"); got != "High" {
		t.Errorf("severity badge %q, want High", got)
	}
	if got := text(t, ctx, "assessed"); !strings.Contains(got, "High") {
		t.Errorf("assessment %q", got)
	}
	reasons := text(t, ctx, "severity-reasons")
	for _, w := range []string{"High functional impact: a critical service is lost for everyone.", "Personal data is involved.",
		"Recovery is predictable but needs extra resources."} {
		if !strings.Contains(reasons, w) {
			t.Errorf("the severity's reasons lack %q; they say:\n%s", w, reasons)
		}
	}
	// The service levels for high: acknowledge within 1 hour, contain
	// within 24, from awareness; shown in the viewer's zone (UTC here).
	for kind, within := range map[string]time.Duration{"sla_acknowledge": time.Hour, "sla_contain": 24 * time.Hour} {
		due := j.aware.Add(within).UTC()
		if got := incENEval[string](t, ctx, `document.querySelector("#clock-`+kind+` .clock-due").getAttribute("datetime")`); got != due.Format(time.RFC3339) {
			t.Errorf("%s due %s, want %s", kind, got, due.Format(time.RFC3339))
		}
		if got := j.clockDue(kind); got != due.Format("2 Jan 2006 15:04 MST") {
			t.Errorf("%s shows %q, want %q", kind, got, due.Format("2 Jan 2006 15:04 MST"))
		}
	}
	if n := incENCount(t, ctx, "#clock-ppc_preliminary"); n != 0 {
		t.Error("a PPC clock runs before any personal-data flag")
	}

	// Personal data of more than 1,000 people: the PPC clocks start, the
	// final report due in 30 days; a suspected unlawful purpose makes it 60.
	j.setFlags("personal_data", "over_1000")
	if got := text(t, ctx, "fact-flags"); !strings.Contains(got, "Personal data involved") || !strings.Contains(got, "More than 1,000 people affected") {
		t.Errorf("flags %q", got)
	}
	if n := incENCount(t, ctx, "#ppc-reportable"); n != 1 {
		t.Error("the overview does not say the incident is reportable to the PPC")
	}
	if got, want := j.clockDue("ppc_preliminary"), j.dayEnd(3); got != want {
		t.Errorf("PPC preliminary report due %q, want %q (awareness %v)", got, want, j.aware)
	}
	if got, want := j.clockDue("ppc_final"), j.dayEnd(30); got != want {
		t.Errorf("PPC final report due %q, want %q", got, want)
	}
	expectText(t, ctx, "clocks", "PPC preliminary report (速報)", "PPC final report (確報)", "Acknowledge", "Contain")
	j.setFlags("malicious_intent")
	if got, want := j.clockDue("ppc_final"), j.dayEnd(60); got != want {
		t.Errorf("PPC final report with an unlawful purpose due %q, want %q", got, want)
	}
	if got, want := j.clockDue("ppc_preliminary"), j.dayEnd(3); got != want {
		t.Errorf("PPC preliminary report due %q after the third flag, want %q", got, want)
	}
	incENScreen(t, ctx, "overview with clocks")
	do(t, ctx, "move to containment",
		chromedp.SetValue(chromedp.ID("phase-to"), "containment"),
		chromedp.SendKeys(chromedp.ID("phase-reason"), "file server isolated"),
	)
	j.load("move to containment", chromedp.Click(chromedp.ID("phase-submit")))
	do(t, ctx, "the overview in containment", chromedp.WaitVisible(chromedp.ID("facts")))
	if got := text(t, ctx, "incident-phase"); got != "Containment" {
		t.Errorf("phase %q after moving to containment", got)
	}
}

// setTask sets a task's status, with a reason when given.
func (j *incENJourney) setTask(id, status, reason string) {
	j.t.Helper()
	acts := []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("task-"+id+"-status-select"), status)}
	if reason != "" {
		acts = append(acts, chromedp.SendKeys(chromedp.ID("task-"+id+"-status-reason"), reason))
	}
	do(j.t, j.ctx, "task "+id+" "+status, acts...)
	j.load("task "+id+" "+status, chromedp.Click(chromedp.ID("task-"+id+"-status-submit")))
	do(j.t, j.ctx, "the tasks after task "+id, chromedp.WaitVisible(chromedp.ID("task-"+id+"-status")))
}

// openTasks lists the ids of the open tasks among the articles sel finds.
func (j *incENJourney) openTasks(sel string) []string {
	j.t.Helper()
	return incENEval[[]string](j.t, j.ctx, `Array.from(document.querySelectorAll(`+fmt.Sprintf("%q", sel)+`)).filter(function(a){
		return a.classList.contains("task-open") || a.classList.contains("task-in_progress");
	}).map(function(a){ return a.id.slice(5); })`)
}

// workTasks completes the containment tasks, skips the police report with
// a reason (refused at first without one) and completes the other
// required tasks.
func (j *incENJourney) workTasks() {
	t, ctx := j.t, j.ctx
	j.load("the tasks tab", chromedp.Click(chromedp.ID("tab-tasks")))
	do(t, ctx, "the tasks", chromedp.WaitVisible(chromedp.ID("phase-containment")))
	containment := j.openTasks("#phase-containment article.task")
	if len(containment) < 3 {
		t.Fatalf("containment has %d open tasks, want the playbook's three", len(containment))
	}
	for _, id := range containment {
		j.setTask(id, "done", "")
		if got := text(t, ctx, "task-"+id+"-status"); got != "Done" {
			t.Errorf("containment task %s is %q after completing it", id, got)
		}
	}
	j.police = incENEval[string](t, ctx, `(function(){var h=Array.from(document.querySelectorAll("article.task h4")).find(function(h){
		return h.textContent === "Report to the prefectural police cyber-crime desk"}); return h ? h.id.replace(/^task-|-h$/g, "") : "";})()`)
	if j.police == "" {
		t.Fatal("no police report task")
	}
	j.setTask(j.police, "skipped", "")
	if got := incENEval[string](t, ctx, `(document.getElementById("task-`+j.police+`-reason-error")||{}).textContent||""`); got == "" {
		t.Errorf("skipping without a reason was not refused beside the reason; the page says:\n%s", bodyText(t, ctx))
	}
	j.setTask(j.police, "skipped", incENSkipWhy)
	if got := text(t, ctx, "task-"+j.police+"-status"); got != "Skipped" {
		t.Errorf("police task is %q after skipping it", got)
	}
	if got := text(t, ctx, "task-"+j.police+"-reason"); got != incENSkipWhy {
		t.Errorf("the skipped task's reason: %q", got)
	}
	for i := 0; ; i++ {
		var req []string
		for _, id := range j.openTasks("article.task") {
			if incENCount(t, ctx, "#task-"+id+"-required") > 0 {
				req = append(req, id)
			}
		}
		if len(req) == 0 {
			break
		}
		if i > 40 {
			t.Fatalf("required tasks stay open: %v", req)
		}
		j.setTask(req[0], "done", "")
	}
	incENScreen(t, ctx, "tasks done")
}

// closeRefused tries to close the high incident before its review.
func (j *incENJourney) closeRefused() {
	t, ctx := j.t, j.ctx
	j.load("the overview", chromedp.Click(chromedp.ID("tab-overview")))
	do(t, ctx, "the close form", chromedp.WaitVisible(chromedp.ID("close-form")))
	if n := incENCount(t, ctx, "#close-open-tasks"); n != 0 {
		t.Errorf("the close form still counts open required tasks: %s", text(t, ctx, "close-open-tasks"))
	}
	if n := incENCount(t, ctx, "#close-review"); n != 1 {
		t.Error("the close form does not warn that the review is needed")
	}
	do(t, ctx, "try to close",
		chromedp.SetValue(chromedp.ID("close-resolution"), "resolved"),
		chromedp.SendKeys(chromedp.ID("close-summary"), incENClosing),
	)
	j.load("try to close", chromedp.Click(chromedp.ID("close-submit")))
	do(t, ctx, "the refusal", chromedp.WaitVisible(chromedp.ID("error-summary")))
	if got, want := text(t, ctx, "error-summary"), "complete the post-incident review before closing it"; !strings.Contains(got, want) || !strings.Contains(got, j.ref) {
		t.Errorf("closing before the review: %q, want it to name %s and say %q", got, j.ref, want)
	}
	if got := text(t, ctx, "incident-status"); got != "Open" {
		t.Errorf("after the refused close the status is %q", got)
	}
}

// review writes the post-incident review (cause, five whys, went well and
// badly, complete) and a prevention action.
func (j *incENJourney) review() {
	t, ctx := j.t, j.ctx
	j.load("the review tab", chromedp.Click(chromedp.ID("tab-review")))
	do(t, ctx, "the review form", chromedp.WaitVisible(chromedp.ID("review-form")))
	if n := incENCount(t, ctx, "#review-needed"); n != 1 {
		t.Error("the review tab does not say a high incident needs its review")
	}
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.ID("cause-unpatched")),
		chromedp.SendKeys(chromedp.ID("cause_text"), incENCause),
	}
	for i, w := range incENWhys {
		acts = append(acts, chromedp.SendKeys(chromedp.ID(fmt.Sprintf("why-%d", i)), w))
	}
	acts = append(acts,
		chromedp.SendKeys(chromedp.ID("went_well"), "The offline backup was untouched and restored within a day."),
		chromedp.SendKeys(chromedp.ID("went_badly"), "Nobody knew who to call first."),
		chromedp.Click(chromedp.ID("complete")),
	)
	do(t, ctx, "write the review", acts...)
	incENScreen(t, ctx, "review")
	j.load("save the review", chromedp.Click(chromedp.ID("review-submit")))
	do(t, ctx, "the saved review", chromedp.WaitVisible(chromedp.ID("review-state")))
	if got := text(t, ctx, "review-state"); !strings.HasPrefix(got, "Completed by admin") {
		t.Errorf("review state %q", got)
	}
	if n := incENCount(t, ctx, "[id=flash]"); n != 1 {
		t.Errorf("the review page shows its notice %d times", n)
	}
	do(t, ctx, "a prevention action",
		chromedp.SendKeys(chromedp.ID("new-title"), incENAction),
		chromedp.SetValue(chromedp.ID("new-due"), time.Now().AddDate(0, 1, 0).Format("2006-01-02")),
	)
	j.load("add the prevention action", chromedp.Click(chromedp.ID("new-submit")))
	do(t, ctx, "the prevention actions", chromedp.WaitVisible(chromedp.ID("actions-table")))
	if got := text(t, ctx, "actions-table"); !strings.Contains(got, incENAction) {
		t.Errorf("prevention actions: %q", got)
	}
}

// draftFields are the values of the draft page's fields.
func (j *incENJourney) draftFields() []string {
	return incENEval[[]string](j.t, j.ctx, `Array.from(document.querySelectorAll(".comms-report-form textarea")).map(function(e){return e.value})`)
}

// printView opens the draft's printable view and returns its language.
func (j *incENJourney) printView(what string) string {
	j.t.Helper()
	href := incENEval[string](j.t, j.ctx, `document.getElementById("print-link").href`)
	do(j.t, j.ctx, what+"'s print view", chromedp.Navigate(href), chromedp.WaitVisible(chromedp.ID("print-fields")))
	if got := text(j.t, j.ctx, "print-ref"); got != j.ref {
		j.t.Errorf("%s's print view names %q, want %s", what, got, j.ref)
	}
	incENScreen(j.t, j.ctx, what+" print view")
	return incENEval[string](j.t, j.ctx, `document.documentElement.lang`)
}

// reportDrafts makes the PPC preliminary report (Japanese by default) with
// its nine items filled, partly from the review, and the management
// summary in English, and opens their print views.
func (j *incENJourney) reportDrafts() {
	t, ctx := j.t, j.ctx
	j.load("the report drafts", chromedp.Click(chromedp.ID("tab-reports")))
	do(t, ctx, "the drafts tab", chromedp.WaitVisible(chromedp.ID("reports-table")))
	if got := text(t, ctx, "clock-ppc_preliminary"); !strings.Contains(got, j.dayEnd(3)) {
		t.Errorf("the drafts tab's PPC clock: %q, want %s", got, j.dayEnd(3))
	}
	incENScreen(t, ctx, "report drafts")
	do(t, ctx, "choose the PPC preliminary report", chromedp.SetValue(chromedp.ID("report-kind"), "ppc:preliminary"))
	j.load("create the PPC draft", chromedp.Click(chromedp.ID("create-report")))
	do(t, ctx, "the PPC draft", chromedp.WaitVisible(chromedp.ID("report-title")))
	fields := j.draftFields()
	if len(fields) != 9 {
		t.Errorf("the PPC draft has %d items, want 9", len(fields))
	}
	for i, f := range fields {
		if strings.TrimSpace(f) == "" {
			t.Errorf("PPC item %d is empty", i+1)
		}
	}
	if got := incENEval[string](t, ctx, `document.getElementById("f_cause").value`); !strings.Contains(got, incENCause) || !strings.Contains(got, incENWhys[4]) {
		t.Errorf("the PPC draft's cause does not come from the review: %q", got)
	}
	if got := incENEval[string](t, ctx, `document.getElementById("f_prevention").value`); !strings.Contains(got, incENAction) {
		t.Errorf("the PPC draft's prevention does not list the action: %q", got)
	}
	if got := text(t, ctx, "report-deadline"); !strings.Contains(got, j.dayEnd(3)) {
		t.Errorf("the PPC draft's deadline %q, want %s", got, j.dayEnd(3))
	}
	incENScreen(t, ctx, "PPC draft")
	if lang := j.printView("PPC draft"); lang != "ja" {
		t.Errorf("the PPC draft's print view is in %q, want Japanese by default", lang)
	}
	if n := incENCount(t, ctx, "#print-fields tr"); n != 9 {
		t.Errorf("the print view has %d items, want 9", n)
	}
	// The draft quotes the timeline in its own language: no stored words.
	printed := text(t, ctx, "print-fields")
	for _, raw := range []string{"triage", "containment", "skipped", "：high", "personal_data"} {
		if strings.Contains(printed, raw) {
			t.Errorf("the PPC draft shows the stored word %q instead of its Japanese label", raw)
		}
	}

	do(t, ctx, "back to the drafts", chromedp.Navigate(j.incURL+"/reports"), chromedp.WaitVisible(chromedp.ID("reports-table")))
	do(t, ctx, "choose the management summary in English",
		chromedp.SetValue(chromedp.ID("report-kind"), "management"),
		chromedp.SetValue(chromedp.ID("report-lang"), "en"),
	)
	j.load("create the management summary", chromedp.Click(chromedp.ID("create-report")))
	do(t, ctx, "the management summary", chromedp.WaitVisible(chromedp.ID("report-title")))
	if all := strings.Join(j.draftFields(), "\n"); !strings.Contains(all, incENTitle) || !strings.Contains(all, incENAction) ||
		!strings.Contains(all, "Severity assessed: High.") || !strings.Contains(all, j.dayEnd(3)) {
		t.Errorf("the management summary lacks the title, timeline, deadline or prevention action:\n%s", all)
	}
	incENScreen(t, ctx, "management summary")
	if lang := j.printView("management summary"); lang != "en" {
		t.Errorf("the management summary's print view is in %q, want English", lang)
	}
	do(t, ctx, "the drafts", chromedp.Navigate(j.incURL+"/reports"), chromedp.WaitVisible(chromedp.ID("reports-table")))
	if n := incENCount(t, ctx, "#reports-table tbody tr[id^=report-]"); n != 2 {
		t.Errorf("the drafts tab lists %d drafts, want 2", n)
	}
}

// closeAndTimeline closes the incident and reads its timeline.
func (j *incENJourney) closeAndTimeline() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "the overview", chromedp.Navigate(j.incURL), chromedp.WaitVisible(chromedp.ID("close-form")))
	if n := incENCount(t, ctx, "#close-review"); n != 0 {
		t.Error("the close form still asks for the review")
	}
	do(t, ctx, "close",
		chromedp.SetValue(chromedp.ID("close-resolution"), "resolved"),
		chromedp.SendKeys(chromedp.ID("close-summary"), incENClosing),
	)
	j.load("close", chromedp.Click(chromedp.ID("close-submit")))
	do(t, ctx, "the closed incident", chromedp.WaitVisible(chromedp.ID("closed-note")))
	if got := text(t, ctx, "incident-status"); got != "Closed" {
		t.Errorf("status %q after closing", got)
	}
	if got := text(t, ctx, "fact-resolution"); got != "Resolved" {
		t.Errorf("resolution %q", got)
	}
	incENScreen(t, ctx, "closed overview")
	j.load("the timeline", chromedp.Click(chromedp.ID("tab-timeline")))
	do(t, ctx, "the timeline", chromedp.WaitVisible(chromedp.ID("timeline")))
	tl := text(t, ctx, "timeline")
	for _, w := range []string{
		"Alert #" + j.alertID + " (Medium) taken in: SSH Login From a Public IP Address on web01, 1 detection.",
		"Evidence “" + incENNote + "” collected by admin from fs01 (SHA-256 " + j.noteSHA + ").",
		"Severity assessed: High.",
		"Regulatory flags now: Personal data involved, More than 1,000 people affected",
		"Phase changed from Triage to Containment. file server isolated",
		"Task “Close the way in” changed from Open to Done.",
		incENSkipWhy,
		"Post-incident review completed.",
		"Incident closed from Containment as Resolved: " + incENClosing,
	} {
		if !strings.Contains(tl, w) {
			t.Errorf("the timeline lacks %q; it says:\n%s", w, tl)
		}
	}
	for _, raw := range []string{"personal_data", "over_1000", "malicious_intent", "(medium)", "(ppc)"} {
		if strings.Contains(tl, raw) {
			t.Errorf("the timeline shows the stored word %q instead of its label", raw)
		}
	}
	incENScreen(t, ctx, "timeline")
}
