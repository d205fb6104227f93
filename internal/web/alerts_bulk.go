// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/alert"
	"github.com/koban-csirt/koban/internal/fault"
)

// bulkStates are the states the queue's bulk actions move alerts to.
var bulkStates = []alert.State{alert.StateAcknowledged, alert.StateInProgress, alert.StateFalsePositive,
	alert.StateTruePositive, alert.StateClosed}

// resultParams are the query parameters that carry a bulk action's
// outcome to the page the browser is sent back to.
var resultParams = []string{"done", "changed", "same", "stale", "refused", "missing", "failed", "request"}

// maxResultIDs bounds the alert ids each outcome lists in the address.
const maxResultIDs = 50

// bulkOutcome counts what a bulk action did, for the page it returns to.
type bulkOutcome struct {
	changed, same, failed   int
	stale, refused, missing []int64
	request                 string // the request id the failures were logged with
}

// add counts one alert's result; it logs what a user cannot act on.
func (o *bulkOutcome) add(s *Server, r *http.Request, res alert.Result) {
	switch {
	case res.Err == nil && res.Changed:
		o.changed++
	case res.Err == nil:
		o.same++
	case fault.KindOf(res.Err) == fault.NotFound:
		o.missing = append(o.missing, res.ID)
	case isChanged(res.Err):
		o.stale = append(o.stale, res.ID)
	case fault.KindOf(res.Err) == fault.Conflict:
		o.refused = append(o.refused, res.ID)
	default:
		o.failed++
		o.request = info(r).id
		s.log.ErrorContext(r.Context(), "bulk alert change failed", "error", res.Err, "alert_id", res.ID,
			"request_id", info(r).id)
	}
}

// isChanged reports whether err says the alert changed since it was read.
func isChanged(err error) bool {
	var f *fault.Error
	return errors.As(err, &f) && f.Kind == fault.Conflict && f.Msg == "alert.changed"
}

// set writes the outcome into v.
func (o bulkOutcome) set(v url.Values) {
	v.Set("done", "bulk")
	for _, c := range []struct {
		name string
		n    int
	}{{"changed", o.changed}, {"same", o.same}, {"failed", o.failed}} {
		if c.n > 0 {
			v.Set(c.name, strconv.Itoa(c.n))
		}
	}
	for _, c := range []struct {
		name string
		ids  []int64
	}{{"stale", o.stale}, {"refused", o.refused}, {"missing", o.missing}} {
		if len(c.ids) > 0 {
			v.Set(c.name, joinIDs(c.ids[:min(len(c.ids), maxResultIDs)]))
		}
	}
	if o.request != "" {
		v.Set("request", o.request)
	}
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// parseIDs reads a comma-separated list of alert ids, dropping anything
// else: the list only marks rows and is shown as numbers.
func parseIDs(s string) []int64 {
	var out []int64
	for _, p := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(p, 10, 64); err == nil && id > 0 && len(out) < maxResultIDs {
			out = append(out, id)
		}
	}
	return out
}

// bulkResult shows the outcome of a bulk action carried in v and returns
// the alerts it names as problems.
func (d *alertsPage) bulkResult(v url.Values) map[int64]bool {
	if v.Get("done") != "bulk" {
		return nil
	}
	num := func(name string) int {
		n, err := strconv.Atoi(v.Get(name))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	marked := map[int64]bool{}
	ids := func(name string) (int, string) {
		list := parseIDs(v.Get(name))
		parts := make([]string, len(list))
		for i, id := range list {
			marked[id] = true
			parts[i] = "#" + strconv.FormatInt(id, 10)
		}
		return len(list), strings.Join(parts, ", ")
	}
	if n := num("changed"); n > 0 {
		d.Result = append(d.Result, d.T("alerts.result.changed", "count", n))
	}
	if n := num("same"); n > 0 {
		d.Result = append(d.Result, d.T("alerts.result.same", "count", n))
	}
	for _, name := range []string{"stale", "refused", "missing"} {
		if n, list := ids(name); n > 0 {
			d.Result = append(d.Result, d.T("alerts.result."+name, "count", n, "ids", list))
			d.ResultWarn = true
		}
	}
	if n := num("failed"); n > 0 {
		// The id of the request whose failures were logged, if it looks
		// like one: a link cannot inject text.
		rid := v.Get("request")
		if len(rid) != 16 || strings.Trim(rid, "0123456789abcdef") != "" {
			rid = "?"
		}
		d.Result = append(d.Result, d.T("alerts.result.failed", "count", n, "request", rid))
		d.ResultWarn = true
	}
	if len(d.Result) == 0 {
		d.Result = append(d.Result, d.T("alerts.result.none"))
	}
	return marked
}

// parseRefs reads the checked alerts: "id.version" each.
func parseRefs(vals []string) ([]alert.Ref, error) {
	refs := make([]alert.Ref, 0, len(vals))
	for _, v := range vals {
		id, ver, ok := strings.Cut(v, ".")
		i, err1 := strconv.ParseInt(id, 10, 64)
		n, err2 := strconv.ParseInt(ver, 10, 64)
		if !ok || err1 != nil || err2 != nil || i <= 0 || n <= 0 {
			return nil, fault.New(fault.Invalid, "alerts.bad_selection")
		}
		refs = append(refs, alert.Ref{ID: i, Version: n})
	}
	return refs, nil
}

// parseAssignee reads an assignee choice: "" or "none" for nobody, "me",
// or a user id.
func parseAssignee(v string, me int64) (int64, error) {
	switch v = strings.TrimSpace(v); v {
	case "", "none":
		return 0, nil
	case "me":
		return me, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.InvalidField("assignee", "alerts.bad_assignee")
	}
	return id, nil
}

// backQuery is the queue view a bulk form came from: the query of its
// "back" field when that is the queue, else the default view.
func backQuery(back string) url.Values {
	u, err := url.Parse(localPath(back))
	if err != nil || u.Path != "/alerts" {
		return url.Values{}
	}
	v := u.Query()
	for _, p := range resultParams {
		v.Del(p)
	}
	return v
}

// alertActor is who acts on alerts in request r.
func alertActor(r *http.Request) alert.Actor {
	ri := info(r)
	if ri.principal == nil {
		return alert.Actor{Actor: actor(r)}
	}
	return alert.ActorOf(*ri.principal, ri.ip)
}

// alertsBulk applies a bulk action to the checked alerts: POST
// /alerts/bulk with alert=id.version (repeated), action (a state or
// "assign"), reason, assignee and back. The browser goes back to the queue
// view it came from with the outcome per alert; a problem with the request
// as a whole shows that view again with the message.
func (s *Server) alertsBulk(w http.ResponseWriter, r *http.Request) {
	if !s.alertsConfigured(w, r) {
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	back := backQuery(r.PostFormValue("back"))
	res, err := s.bulk(r)
	if err != nil {
		if fault.KindOf(err) == fault.Internal {
			s.fail(w, r, err)
			return
		}
		// Show the view again without the last outcome, with the message.
		r.URL.RawQuery = ""
		d, derr := s.alertsPageData(r, back)
		if d == nil || (derr != nil && fault.KindOf(derr) == fault.Internal) {
			s.fail(w, r, derr)
			return
		}
		d.RequestPath = d.Back
		d.Reason = r.PostFormValue("reason")
		d.formErrors(err)
		s.render(w, r, statusFor(fault.KindOf(err)), "alerts", d)
		return
	}
	var o bulkOutcome
	for _, x := range res {
		o.add(s, r, x)
	}
	o.set(back)
	http.Redirect(w, r, alertsURL(back), http.StatusSeeOther)
}

// bulk runs the bulk action of the form.
func (s *Server) bulk(r *http.Request) ([]alert.Result, error) {
	refs, err := parseRefs(r.PostForm["alert"])
	if err != nil {
		return nil, err
	}
	a := alertActor(r)
	switch action := r.PostFormValue("action"); action {
	case "assign":
		id, err := parseAssignee(r.PostFormValue("assignee"), a.UserID)
		if err != nil {
			return nil, err
		}
		return s.opts.Alerts.Assign(r.Context(), a, refs, id)
	case "":
		return nil, fault.New(fault.Invalid, "alerts.no_action")
	default:
		return s.opts.Alerts.Transition(r.Context(), a, refs, alert.State(action), r.PostFormValue("reason"))
	}
}
