// SPDX-License-Identifier: Apache-2.0

package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/fault"
)

const (
	apiEventsDefault = 100
	apiEventsMax     = 1000
)

// apiEvent is an event as the API shows it.
type apiEvent struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Received  time.Time         `json:"received"`
	Tenant    string            `json:"tenant,omitempty"`
	Source    string            `json:"source"`
	Host      string            `json:"host"`
	LogSource apiLogSource      `json:"logsource"`
	Fields    map[string]string `json:"fields"`
	// Raw is the raw bytes as text when they are valid UTF-8, else base64
	// with RawEncoding "base64".
	Raw         string   `json:"raw"`
	RawEncoding string   `json:"raw_encoding,omitempty"`
	Flags       []string `json:"flags,omitempty"`
	Reason      string   `json:"reason,omitempty"`
}

type apiLogSource struct {
	Product  string `json:"product,omitempty"`
	Category string `json:"category,omitempty"`
	Service  string `json:"service,omitempty"`
}

func toAPIEvent(e *event.Event) apiEvent {
	out := apiEvent{ID: e.ID.String(), Time: time.Unix(0, e.Time).UTC(), Received: time.Unix(0, e.Received).UTC(),
		Tenant: e.Tenant, Source: e.Source, Host: e.Host,
		LogSource: apiLogSource{Product: e.Log.Product, Category: e.Log.Category, Service: e.Log.Service},
		Fields:    make(map[string]string, len(e.Fields)), Flags: e.Flags.Names(), Reason: e.Reason}
	for _, f := range e.Fields {
		out.Fields[f.Name()] = f.Value
	}
	if utf8.Valid(e.Raw) {
		out.Raw = string(e.Raw)
	} else {
		out.Raw, out.RawEncoding = base64.StdEncoding.EncodeToString(e.Raw), "base64"
	}
	return out
}

// apiEvents is GET /api/v1/events?q=&from=&to=&limit=&after=: a page of
// events, newest first, and the cursor of the next. from and to are RFC
// 3339 times (default: the last 24 hours).
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	if s.opts.Events == nil {
		s.fail(w, r, fault.New(fault.NotFound, "events.no_store_short"))
		return
	}
	v := r.URL.Query()
	limit := apiEventsDefault
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > apiEventsMax {
			s.fail(w, r, fault.InvalidField("limit", "events.bad_limit", "max", apiEventsMax))
			return
		}
		limit = n
	}
	in, err := parseSearch(v, s.now(), time.UTC)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.searchContext(r)
	defer cancel()
	pg, err := s.opts.Events.Search(ctx, in.query(limit))
	if err != nil {
		s.failSearch(w, r, ctx, err)
		return
	}
	out := struct {
		Events []apiEvent `json:"events"`
		From   time.Time  `json:"from"`
		To     time.Time  `json:"to"`
		Next   string     `json:"next,omitempty"`
	}{Events: make([]apiEvent, 0, len(pg.Events)), From: in.From.UTC(), To: in.To.UTC()}
	for i := range pg.Events {
		out.Events = append(out.Events, toAPIEvent(&pg.Events[i]))
	}
	if pg.Next != nil {
		out.Next = formatCursor(*pg.Next)
	}
	s.writeJSON(w, http.StatusOK, out)
}
