// SPDX-License-Identifier: Apache-2.0

//go:build browser

package app

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// The steps of TestBrowserIncidentJapanese after the incident is opened.

// applyPlaybook: the phishing/BEC playbook, previewed then applied with
// its decision points answered, gives tasks in every phase.
func (j *incJAJourney) applyPlaybook() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "tasks tab", chromedp.Click(chromedp.ID("tab-tasks")), chromedp.WaitVisible(chromedp.ID("choose-playbook")))
	expectText(t, ctx, "tasks tab", "タスク", "プレイブックを適用")
	incJAScreen(t, ctx, "tasks tab")
	do(t, ctx, "preview the phishing playbook",
		chromedp.SetValue(chromedp.ID("playbook"), "phishing-bec"),
		chromedp.Click(chromedp.ID("playbook-show")),
		chromedp.WaitVisible(chromedp.ID("apply-form")),
	)
	expectText(t, ctx, "playbook preview", "フィッシングメール・ビジネスメール詐欺（BEC）", "報告されたメールをヘッダーごと保存する（.eml 形式）",
		"偽のページにパスワードを入力した人、または自分が始めていないログインを承認した人はいますか？")
	incJAScreen(t, ctx, "playbook preview")
	decisions := incJAStrings(t, ctx, `Array.from(document.querySelectorAll("#apply-form fieldset.decision")).map(function(f){return f.id})`)
	for _, want := range []string{"decision-credentials-entered", "decision-personal-data", "decision-report-outside"} {
		if !slices.Contains(decisions, want) {
			t.Errorf("the playbook form asks %v, not %s", decisions, want)
		}
	}
	// Nobody typed a password; the site will be reported; the rest is not
	// known yet and left for later (the playbook makes each a task).
	incJASubmit(t, ctx, "apply the playbook",
		chromedp.Click(chromedp.ID("decision-credentials-entered-no")),
		chromedp.Click(chromedp.ID("decision-report-outside-yes")),
		chromedp.Click(chromedp.ID("apply-submit")),
	)
	for _, ph := range []string{"triage", "analysis", "containment", "recovery", "review"} {
		if len(j.phaseTasks(ph)) == 0 {
			t.Errorf("no %s task after applying the playbook", ph)
		}
	}
	expectText(t, ctx, "tasks by phase", "プレイブックを適用しました", "トリアージ", "分析", "封じ込め", "復旧", "事後レビュー",
		"報告されたメールをヘッダーごと保存する（.eml 形式）", "フィッシングサイトを報告する（フィッシング対策協議会または JPCERT/CC）",
		"判断する：個人データが漏えいした可能性はありますか？")
	if b := bodyText(t, ctx); strings.Contains(b, "影響を受けたアカウントのパスワードを変更し") {
		t.Error("the tasks for entered passwords were added although the answer was no")
	}
	incJAScreen(t, ctx, "tasks by phase")
}

// phaseTasks lists the ids of the tasks of a phase on the tasks tab.
func (j *incJAJourney) phaseTasks(phase string) []string {
	return incJAStrings(j.t, j.ctx, `Array.from(document.querySelectorAll("#phase-`+phase+` article.task")).map(function(a){return a.id.slice(5)})`)
}

// evidence: the .eml came over from the report with the SHA-256 the test
// computed; the header dump goes in through the upload form.
func (j *incJAJourney) evidence() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "evidence tab", chromedp.Click(chromedp.ID("tab-evidence")), chromedp.WaitVisible(chromedp.ID("upload-form")))
	expectText(t, ctx, "evidence tab", "証拠", filepath.Base(j.eml), j.emlSHA, j.rpt)
	incJAScreen(t, ctx, "evidence tab")
	incJASubmit(t, ctx, "upload the header dump",
		chromedp.SendKeys(chromedp.ID("up-description"), "メールのヘッダー部分（送信経路の確認用）"),
		chromedp.SendKeys(chromedp.ID("up-from"), "鈴木さんの Outlook"),
		chromedp.SetUploadFiles(chromedp.ID("up-file"), []string{j.headers}),
		chromedp.Click(chromedp.ID("upload-submit")),
	)
	if got := text(t, ctx, "evidence-sha256"); got != j.headersSHA {
		t.Errorf("uploaded header dump: SHA-256 %q, want %s", got, j.headersSHA)
	}
	expectText(t, ctx, "uploaded item", "headers.txt", "鈴木さんの Outlook", "田中 花子", "保管履歴")
	incJAScreen(t, ctx, "evidence item")
	do(t, ctx, "back to the evidence list", chromedp.Click(chromedp.ID("back-to-evidence")), chromedp.WaitVisible(chromedp.ID("upload-form")))
	hashes := incJAStrings(t, ctx, `Array.from(document.querySelectorAll("#evidence code.sha256")).map(function(c){return c.textContent.trim()})`)
	if len(hashes) != 2 || !slices.Contains(hashes, j.emlSHA) || !slices.Contains(hashes, j.headersSHA) {
		t.Errorf("evidence hashes %v, want the .eml's %s and the header dump's %s", hashes, j.emlSHA, j.headersSHA)
	}
}

// clocks: personal data alone makes no PPC report due (施行規則 7条 needs
// one of its four situations); with a risk of financial damage the 速報
// (3 days, the default policy) and 確報 (30 days) run.
func (j *incJAJourney) clocks() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "overview tab", chromedp.Click(chromedp.ID("tab-overview")), chromedp.WaitVisible(chromedp.ID("flags-form")))
	incJASubmit(t, ctx, "personal data involved",
		chromedp.Click(chromedp.ID("ov-flag-personal_data")),
		chromedp.Click(chromedp.ID("flags-submit")),
	)
	expectText(t, ctx, "personal data flagged", "個人データが関係する")
	if n := incJAString(t, ctx, `String(document.querySelectorAll("#clock-ppc_preliminary, #clock-ppc_final").length)`); n != "0" {
		t.Errorf("PPC clocks run with personal data alone: %s", n)
	}
	// The fake page asked for card numbers too.
	incJASubmit(t, ctx, "risk of financial damage",
		chromedp.Click(chromedp.ID("ov-flag-financial_risk")),
		chromedp.Click(chromedp.ID("flags-submit")),
	)
	do(t, ctx, "the PPC clocks", chromedp.WaitVisible(chromedp.ID("clock-ppc_preliminary")), chromedp.WaitVisible(chromedp.ID("clock-ppc_final")))
	for _, c := range []struct {
		kind, label, basis string
		days               int
	}{{"ppc_preliminary", "個人情報保護委員会への速報", "発覚日から3日以内", 3}, {"ppc_final", "個人情報保護委員会への確報", "発覚日から30日以内", 30}} {
		due := incJAString(t, ctx, `document.querySelector("#clock-`+c.kind+` .clock-due").textContent`)
		if want := incJADue(j.aware, j.tokyo, c.days); due != want {
			t.Errorf("%s due %q, want %q (aware %s)", c.label, due, want, j.aware.In(j.tokyo))
		}
		if row := text(t, ctx, "clock-"+c.kind); !strings.Contains(row, c.label) || !strings.Contains(row, "法令上の期限") || !strings.Contains(row, c.basis) {
			t.Errorf("%s row: %q", c.label, row)
		}
	}
	expectText(t, ctx, "reportable", "この事実によれば、個人情報保護委員会への報告と本人への通知が必要です", "財産的被害が生じるおそれがある")
	incJAScreen(t, ctx, "overview with clocks")
}

// assess: the impact questionnaire gives the severity with its reasons
// (closing needs a severity).
func (j *incJAJourney) assess() {
	t, ctx := j.t, j.ctx
	incJASubmit(t, ctx, "assess the impact",
		chromedp.Click(chromedp.ID("assess-functional-low")),
		chromedp.Click(chromedp.ID("assess-information-personal")),
		chromedp.Click(chromedp.ID("assess-information-payment")),
		chromedp.SendKeys(chromedp.ID("assess-people"), "1"),
		chromedp.Click(chromedp.ID("assess-recoverability-regular")),
		chromedp.Click(chromedp.ID("assess-criticality-medium")),
		chromedp.Click(chromedp.ID("assess-submit")),
	)
	if sev := text(t, ctx, "fact-severity"); sev == "" || strings.Contains(sev, "未評価") {
		t.Errorf("severity after the assessment: %q", sev)
	}
	if n := incJAString(t, ctx, `String(document.querySelectorAll("#severity-reasons li").length)`); n == "0" {
		t.Error("the assessment shows no reasoning")
	}
}

// containment: a containment task made overdue shows so on the task and
// the list; once the containment tasks are done the list shows none and
// the close form counts fewer open required tasks.
func (j *incJAJourney) containment() {
	t, ctx := j.t, j.ctx
	j.tasksPage()
	j.contained = j.phaseTasks("containment")
	first := j.contained[0]
	yesterday := time.Now().In(j.tokyo).AddDate(0, 0, -1)
	incJASubmit(t, ctx, "move a containment task's due time to yesterday",
		chromedp.Click(chromedp.ID("task-"+first+"-edit")),
		chromedp.WaitVisible(chromedp.ID("task-"+first+"-edit-due")),
		chromedp.SetValue(chromedp.ID("task-"+first+"-edit-due"), yesterday.Format("2006-01-02")+"T09:00"),
		chromedp.Click(chromedp.ID("task-"+first+"-edit-submit")),
	)
	do(t, ctx, "the task is overdue", chromedp.WaitVisible(chromedp.ID("task-"+first+"-overdue")))
	incJAScreen(t, ctx, "tasks with an overdue one")
	if got := j.overdueInList(); got != "期限切れのタスク 1 件" {
		t.Errorf("incident list with one overdue task says %q", got)
	}
	incJAScreen(t, ctx, "incident list")
	j.tasksPage()
	j.before = j.requiredOpen()
	if got := j.closeCount(); got != len(j.before) {
		t.Errorf("the close form counts %d open required tasks, the tasks tab %d", got, len(j.before))
	}
	j.tasksPage()
	required := 0
	for _, id := range j.contained {
		if slices.Contains(j.before, id) {
			required++
		}
		j.setStatus(id, "done", "", "完了")
	}
	expectText(t, ctx, "containment done", "タスクの状態を変更しました")
	if n := incJAString(t, ctx, `String(document.querySelectorAll("#phase-containment article.task-done").length)`); n != strconv.Itoa(len(j.contained)) {
		t.Errorf("containment tasks done: %s of %d", n, len(j.contained))
	}
	if got := j.overdueInList(); got != "" {
		t.Errorf("the list still shows overdue tasks after containment: %q", got)
	}
	if got, want := j.closeCount(), len(j.before)-required; got != want {
		t.Errorf("after containment the close form counts %d open required tasks, want %d", got, want)
	}
}

// requiredTasks: the other required tasks are done, but the decision on
// money sent, skipped: refused without a reason, taken with one.
func (j *incJAJourney) requiredTasks() {
	t, ctx := j.t, j.ctx
	j.tasksPage()
	rest := j.requiredOpen()
	skip := ""
	for _, id := range rest {
		if strings.Contains(text(t, ctx, "task-"+id+"-h"), "送金") {
			skip = id
		}
	}
	if skip == "" {
		t.Fatal("no decision task about money sent among the open required tasks")
	}
	do(t, ctx, "skipping needs a reason",
		chromedp.SetValue(chromedp.ID("task-"+skip+"-status-select"), "skipped"),
		chromedp.Click(chromedp.ID("task-"+skip+"-status-submit")),
		chromedp.WaitVisible(chromedp.ID("task-"+skip+"-reason-error")),
	)
	expectText(t, ctx, "skip without a reason", "次の点を修正してください", "理由を入力してください。")
	incJAScreen(t, ctx, "skip without a reason")
	j.tasksPage()
	for _, id := range rest {
		if id == skip {
			j.setStatus(id, "skipped", incJASkipWhy, "スキップ")
		} else {
			j.setStatus(id, "done", "", "完了")
		}
	}
	if got := j.closeCount(); got != 0 {
		t.Errorf("after every required task the close form still counts %d", got)
	}
}

func (j *incJAJourney) tasksPage() {
	do(j.t, j.ctx, "tasks page", chromedp.Navigate(j.s.url+"/incidents/"+j.inc+"/tasks"), chromedp.WaitVisible(chromedp.ID("new-task-form")))
}

// requiredOpen lists the ids of the open required tasks on the tasks tab.
func (j *incJAJourney) requiredOpen() []string {
	return incJAStrings(j.t, j.ctx, `Array.from(document.querySelectorAll("article.task-open, article.task-in_progress")).filter(function(a){return !!document.getElementById(a.id+"-required")}).map(function(a){return a.id.slice(5)})`)
}

// setStatus moves a task on the tasks tab and checks its new label.
func (j *incJAJourney) setStatus(id, status, reason, label string) {
	t := j.t
	t.Helper()
	acts := []chromedp.Action[chromedp.Void]{chromedp.SetValue(chromedp.ID("task-"+id+"-status-select"), status)}
	if reason != "" {
		acts = append(acts, chromedp.SendKeys(chromedp.ID("task-"+id+"-status-reason"), reason))
	}
	incJASubmit(t, j.ctx, "task "+id+" to "+status, append(acts, chromedp.Click(chromedp.ID("task-"+id+"-status-submit")))...)
	if got := text(t, j.ctx, "task-"+id+"-status"); got != label {
		t.Errorf("task %s after setting %s: %q, want %q", id, status, got, label)
	}
}

// overdueInList is what the incident list says of the incident's overdue
// tasks, "" when nothing.
func (j *incJAJourney) overdueInList() string {
	do(j.t, j.ctx, "incident list", chromedp.Navigate(j.s.url+"/incidents"), chromedp.WaitVisible(chromedp.ID("incident-"+j.inc)))
	return incJAString(j.t, j.ctx, `(function(){var b=document.querySelector("#incident-`+j.inc+` .overdue-tasks");return b?b.textContent.trim():""})()`)
}

// closeCount is the number of open required tasks the close form warns of.
func (j *incJAJourney) closeCount() int {
	t := j.t
	do(t, j.ctx, "overview", chromedp.Navigate(j.s.url+"/incidents/"+j.inc), chromedp.WaitVisible(chromedp.ID("close-form")))
	msg := incJAString(t, j.ctx, `(function(){var e=document.getElementById("close-open-tasks");return e?e.textContent:""})()`)
	if msg == "" {
		return 0
	}
	m := regexp.MustCompile(`必須タスクが (\d+) 件残っています`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("open required tasks notice: %q", msg)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// incJANine are the items of the PPC report (施行規則 8条).
var incJANine = []struct{ key, label string }{
	{"summary", "概要"}, {"data_items", "漏えい等した個人データの項目"}, {"people", "本人の数"}, {"cause", "原因"},
	{"secondary_harm", "二次被害又はそのおそれの有無及びその内容"}, {"subjects_response", "本人への対応の実施状況"},
	{"publication", "公表の実施状況"}, {"prevention", "再発防止のための措置"}, {"other", "その他参考となる事項"},
}

// draft: a PPC 速報 draft in Japanese, its nine items numbered and none
// empty, filled from the incident; then its print view.
func (j *incJAJourney) draft() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "report drafts tab", chromedp.Click(chromedp.ID("tab-reports")), chromedp.WaitVisible(chromedp.ID("create-report")))
	expectText(t, ctx, "report drafts", "報告書の下書き", "個人情報保護委員会への報告期限")
	incJAScreen(t, ctx, "report drafts")
	incJASubmit(t, ctx, "create the PPC draft",
		chromedp.SetValue(chromedp.ID("report-kind"), "ppc:preliminary"),
		chromedp.SetValue(chromedp.ID("report-lang"), "ja"),
		chromedp.Click(chromedp.ID("create-report")),
	)
	value := func(key string) string {
		return incJAString(t, ctx, `document.getElementById("f_`+key+`").value`)
	}
	for i, f := range incJANine {
		if got, want := incJAString(t, ctx, `document.querySelector('label[for="f_`+f.key+`"]').textContent.trim()`), fmt.Sprintf("%d. %s", i+1, f.label); got != want {
			t.Errorf("draft item %d: label %q, want %q", i+1, got, want)
		}
		if strings.TrimSpace(value(f.key)) == "" {
			t.Errorf("draft item %d (%s) is empty", i+1, f.label)
		}
	}
	if v := value("summary"); !strings.Contains(v, incJADetail) || !strings.Contains(v, incJATitle) {
		t.Errorf("the 概要 does not hold the incident's description:\n%s", v)
	}
	if v := value("data_items"); !strings.Contains(v, "クレジットカード番号") {
		t.Errorf("漏えい等した個人データの項目 does not name the card data the flags say: %q", v)
	}
	if v := value("people"); v != "1人" {
		t.Errorf("本人の数 %q, want the questionnaire's 1人", v)
	}
	if v := value("secondary_harm"); !strings.Contains(v, "財産的被害") {
		t.Errorf("二次被害 does not follow the financial-risk flag: %q", v)
	}
	if dl := text(t, ctx, "report-deadline"); !strings.Contains(dl, incJADue(j.aware, j.tokyo, 3)) {
		t.Errorf("the draft's deadline %q lacks the 速報's due %s", dl, incJADue(j.aware, j.tokyo, 3))
	}
	incJAScreen(t, ctx, "PPC draft")
	j.draftURL, _ = chromedp.Run(ctx, chromedp.Location())
	do(t, ctx, "print view", chromedp.Navigate(incJAString(t, ctx, `document.getElementById("print-link").href`)),
		chromedp.WaitVisible(chromedp.ID("print-fields")))
	heads := incJAStrings(t, ctx, `Array.from(document.querySelectorAll("#print-fields th")).map(function(h){return h.textContent.trim()})`)
	var want []string
	for i, f := range incJANine {
		want = append(want, fmt.Sprintf("%d. %s", i+1, f.label))
	}
	if !slices.Equal(heads, want) {
		t.Errorf("print view headings %q, want %q", heads, want)
	}
	expectText(t, ctx, "print view", "個人情報保護委員会への漏えい等報告", j.inc, incJADetail)
	incJAScreen(t, ctx, "print view")
}

// review: root cause, three whys, what went well and badly, completed;
// the draft's 原因, never edited by hand, follows it on refreshing.
func (j *incJAJourney) review() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "review tab", chromedp.Navigate(j.s.url+"/incidents/"+j.inc+"/review"), chromedp.WaitVisible(chromedp.ID("review-form")))
	incJAScreen(t, ctx, "review form")
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.ID("cause-social_engineering")),
		chromedp.SendKeys(chromedp.ID("cause_text"), incJACause),
		chromedp.SendKeys(chromedp.ID("went_well"), "従業員がリンクを開かずにすぐ報告窓口から .eml 付きで報告した。"),
		chromedp.SendKeys(chromedp.ID("went_badly"), "同じメールが他の 3 人にも届いていたことに気付くまで 2 時間かかった。"),
		chromedp.Click(chromedp.ID("complete")),
	}
	for i, w := range incJAWhys {
		acts = append(acts, chromedp.SendKeys(chromedp.ID("why-"+strconv.Itoa(i)), w))
	}
	incJASubmit(t, ctx, "write the review", append(acts, chromedp.Click(chromedp.ID("review-submit")))...)
	if st := text(t, ctx, "review-state"); !strings.Contains(st, "完了") {
		t.Errorf("review state after completing: %q", st)
	}
	incJAScreen(t, ctx, "review saved")
	do(t, ctx, "back to the draft", chromedp.Navigate(j.draftURL), chromedp.WaitVisible(chromedp.ID("refresh-report")))
	incJASubmit(t, ctx, "refresh the draft", chromedp.Click(chromedp.ID("refresh-report")))
	if cause := incJAString(t, ctx, `document.getElementById("f_cause").value`); !strings.Contains(cause, incJACause) || !strings.Contains(cause, incJAWhys[1]) {
		t.Errorf("after the review the draft's 原因 is %q", cause)
	}
	incJAScreen(t, ctx, "refreshed draft")
}

// closeAndTimeline: nothing left to warn of, the incident closes, and the
// timeline lists the report, the evidence, the flags and the closing.
func (j *incJAJourney) closeAndTimeline() {
	t, ctx := j.t, j.ctx
	do(t, ctx, "overview to close", chromedp.Navigate(j.s.url+"/incidents/"+j.inc), chromedp.WaitVisible(chromedp.ID("close-form")))
	if n := incJAString(t, ctx, `String(document.querySelectorAll("#close-open-tasks, #close-review").length)`); n != "0" {
		t.Errorf("the close form still warns (%s notices)", n)
	}
	incJASubmit(t, ctx, "close the incident",
		chromedp.SetValue(chromedp.ID("close-resolution"), "resolved"),
		chromedp.SendKeys(chromedp.ID("close-summary"), incJAClosing),
		chromedp.Click(chromedp.ID("close-submit")),
	)
	do(t, ctx, "closed", chromedp.WaitVisible(chromedp.ID("closed-note")))
	if st := text(t, ctx, "incident-status"); st != "クローズ" {
		t.Errorf("status after closing: %q, want クローズ", st)
	}
	expectText(t, ctx, "closed incident", "このインシデントはクローズ済みです", "解決", incJAClosing)
	incJAScreen(t, ctx, "closed incident")
	do(t, ctx, "timeline", chromedp.Click(chromedp.ID("tab-timeline")), chromedp.WaitVisible(chromedp.ID("timeline")))
	expectText(t, ctx, "timeline", "suzuki さんが報告窓口から報告しました ("+j.rpt+")",
		"証拠「"+filepath.Base(j.eml)+"」", j.emlSHA, "証拠「headers.txt」", j.headersSHA,
		"法令上のフラグ：個人データが関係する、財産的被害のおそれがある", "重大度を判定しました",
		"にしました。"+incJASkipWhy, "事後レビューを完了しました。", "からクローズしました（解決）："+incJAClosing)
	incJAScreen(t, ctx, "timeline")
}

// reporterSees: the employee's list and report say the report became
// the incident.
func (j *incJAJourney) reporterSees() {
	t, ctx := j.t, j.rctx
	do(t, ctx, "the reporter's list again", chromedp.Navigate(j.s.url+"/report/mine"), chromedp.WaitVisible(chromedp.ID("report-"+j.rpt)))
	if st := incJAString(t, ctx, `document.querySelector("#report-`+j.rpt+` .badge").textContent`); st != "インシデントとして対応中" {
		t.Errorf("the reporter sees status %q", st)
	}
	do(t, ctx, "the reporter's report", chromedp.Click(chromedp.CSS("#report-"+j.rpt+" a")), chromedp.WaitVisible(chromedp.ID("report-next")))
	if next := text(t, ctx, "report-next"); !strings.Contains(next, j.inc) {
		t.Errorf("the reporter is not told the incident: %q", next)
	}
	incJAScreen(t, ctx, "reporter's report")
}
