// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// maxListed bounds the rejected lines listed in an answer.
const maxListed = 1000

// rejection is an input line (or array element) that was kept as a flagged
// event because it is not a JSON object.
type rejection struct {
	line int
	err  string
}

// ingest serves POST /ingest/v1/events: NDJSON, or a JSON array, one event
// per object. It answers, once the events are durable,
//
//	{"accepted":N,"rejected":[{"line":L,"error":"..."}]}
//
// where accepted counts the documents that parsed and rejected lists those
// that did not (line numbers count from 1; for an array, the element
// number). Rejected documents are stored too, as events flagged
// parse_error with their text in "message": nothing sent is dropped. When
// more than 1000 are rejected, the list is cut and "rejected_total" gives
// their number.
func (h *handler) ingest(w http.ResponseWriter, r *http.Request) {
	src := sourceOf(r)
	c := h.reg.Source(src.name, kindHTTP)
	if !h.acquire() {
		c.Rejected(reasonTooMany)
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusTooManyRequests, "too many requests at once; retry later")
		return
	}
	defer h.releaseSlot()
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		var be *bodyError
		if errors.As(err, &be) {
			c.Rejected(be.reason)
			h.warn(be.reason, "http intake request refused", "source", src.name, "reason", be.reason)
			writeError(w, be.status, be.msg)
		}
		return
	}
	evs, rejected := parseIngest(body, r.Header.Get("Content-Type"), src, h.now().UnixNano())
	if n, err := h.store(r.Context(), evs); err != nil {
		c.Accepted(evs[:n])
		status, _ := h.sinkFailed(c, src, err)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", retryAfter)
			writeError(w, status, "koban is busy; retry later")
			return
		}
		writeError(w, status, "koban could not store the events; retry later")
		return
	}
	c.Accepted(evs)

	out := make([]byte, 0, 64+48*min(len(rejected), maxListed))
	out = append(out, `{"accepted":`...)
	out = strconv.AppendInt(out, int64(len(evs)-len(rejected)), 10)
	out = append(out, `,"rejected":[`...)
	for i, rj := range rejected[:min(len(rejected), maxListed)] {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"line":`...)
		out = strconv.AppendInt(out, int64(rj.line), 10)
		out = append(out, `,"error":`...)
		out = intake.AppendJSONString(out, rj.err)
		out = append(out, '}')
	}
	out = append(out, ']')
	if len(rejected) > maxListed {
		out = append(out, `,"rejected_total":`...)
		out = strconv.AppendInt(out, int64(len(rejected)), 10)
	}
	out = append(out, "}\n"...)
	writeJSON(w, http.StatusOK, out)
}

// parseIngest turns a body into events. A body whose first byte is '[' is
// a JSON array (unless sent as application/x-ndjson); an application/json
// body that is one object, even over several lines, is one event;
// anything else is NDJSON.
func parseIngest(body []byte, contentType string, src *source, received int64) ([]event.Event, []rejection) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimLeft(body, " \t\r\n\xEF\xBB\xBF")
	if len(trimmed) == 0 {
		return nil, nil
	}
	ndjson := mt == "application/x-ndjson" || mt == "application/jsonlines" || mt == "application/json-seq"
	if trimmed[0] == '[' && !ndjson {
		return parseArray(body, src, received)
	}
	if mt == "application/json" {
		var ev event.Event
		if err := intake.FromJSON(body, &ev); err == nil {
			newEvent(&ev, src, received)
			return []event.Event{ev}, nil
		}
	}
	return parseLines(body, src, received)
}

// parseLines makes one event of each non-blank line of body; lines that are
// not JSON objects are kept flagged and listed.
func parseLines(body []byte, src *source, received int64) ([]event.Event, []rejection) {
	evs := make([]event.Event, 0, bytes.Count(body, []byte{'\n'})+1)
	var rejected []rejection
	l := lines{b: body}
	for {
		line, lineNo, ok := l.next()
		if !ok {
			break
		}
		evs = append(evs, event.Event{})
		ev := &evs[len(evs)-1]
		newEvent(ev, src, received)
		if err := intake.FromJSON(line, ev); err != nil {
			intake.Unparsed(line, err, ev)
			rejected = append(rejected, rejection{lineNo, err.Error()})
		}
	}
	return evs, rejected
}

// parseArray makes one event of each element of the JSON array body. When
// the array is broken, the rest of the body from the broken element on is
// kept as one flagged event.
func parseArray(body []byte, src *source, received int64) ([]event.Event, []rejection) {
	var evs []event.Event
	var rejected []rejection
	elem := 0
	rest, err := intake.JSONArray(body, func(doc []byte) bool {
		elem++
		evs = append(evs, event.Event{})
		ev := &evs[len(evs)-1]
		newEvent(ev, src, received)
		if err := intake.FromJSON(doc, ev); err != nil {
			intake.Unparsed(doc, err, ev)
			rejected = append(rejected, rejection{elem, err.Error()})
		}
		return true
	})
	if err != nil {
		elem++
		if tail := bytes.TrimSpace(body[rest:]); len(tail) > 0 {
			evs = append(evs, event.Event{})
			ev := &evs[len(evs)-1]
			newEvent(ev, src, received)
			err = fmt.Errorf("broken JSON array: %w", err)
			intake.Unparsed(tail, err, ev)
			rejected = append(rejected, rejection{elem, err.Error()})
		}
	}
	return evs, rejected
}
