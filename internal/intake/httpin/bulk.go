// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/koban-csirt/koban/internal/event"
	"github.com/koban-csirt/koban/internal/intake"
)

// fieldIndex holds the Elasticsearch index a document was sent to; shippers
// put the log type there (winlogbeat-8.x, filebeat-*, logs-*).
var fieldIndex = event.MustIntern("_index")

// bulkItem is one action of a _bulk request and its answer.
type bulkItem struct {
	op      string // index, create, update or delete
	index   string
	id      string
	ev      int // position of its event, or -1
	status  int
	errType string
	reason  string
}

type actionMeta struct {
	Index string `json:"_index"`
	ID    string `json:"_id"`
}

// parseAction reads an action/metadata line of the bulk API.
func parseAction(line []byte) (op string, meta actionMeta, err error) {
	var a struct {
		Index, Create, Update, Delete *actionMeta
	}
	if err := json.Unmarshal(line, &a); err != nil {
		return "", meta, err
	}
	n := 0
	for _, c := range []struct {
		name string
		m    *actionMeta
	}{{"index", a.Index}, {"create", a.Create}, {"update", a.Update}, {"delete", a.Delete}} {
		if c.m != nil {
			op, meta = c.name, *c.m
			n++
		}
	}
	switch {
	case n == 0:
		return "", meta, errors.New("expected one of [create], [delete], [index] or [update]")
	case n > 1:
		return "", meta, errors.New("more than one action on one line")
	}
	return op, meta, nil
}

// lines iterates over the non-blank lines of a body, numbering them from 1.
type lines struct {
	b  []byte
	no int
}

func (l *lines) next() ([]byte, int, bool) {
	for len(l.b) > 0 {
		l.no++
		line := l.b
		if i := bytes.IndexByte(l.b, '\n'); i >= 0 {
			line, l.b = l.b[:i], l.b[i+1:]
		} else {
			l.b = nil
		}
		line = bytes.TrimRight(line, " \t\r")
		if len(bytes.TrimLeft(line, " \t")) > 0 {
			return line, l.no, true
		}
	}
	return nil, l.no, false
}

// bulk serves the Elasticsearch bulk API: NDJSON action/source pairs. index
// and create store their document (its index in the field "_index");
// update and delete are refused per item, as koban keeps events
// append-only. A document that is not a JSON object is stored flagged and
// answered 400 for its item only. The answer has Elasticsearch's shape,
// which shippers read item by item: took, errors, items.
func (h *handler) bulk(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	body, src, c, release, ok := h.readES(w, r)
	if !ok {
		return
	}
	defer release()
	if len(bytes.TrimSpace(body)) == 0 {
		writeESError(w, http.StatusBadRequest, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
		return
	}
	items, evs := parseBulk(body, r.PathValue("index"), src, start.UnixNano())
	n, err := h.store(r.Context(), evs)
	c.Accepted(evs[:n])
	if err != nil {
		status, _ := h.sinkFailed(c, src, err)
		if n == 0 {
			// Nothing stored: the whole request is refused, and shippers
			// send it again.
			h.refuseStore(w, status)
			return
		}
		for i := range items {
			if items[i].ev >= n {
				items[i].status, items[i].errType, items[i].reason = storeError(status)
			}
		}
	}

	out := make([]byte, 0, 64+200*len(items))
	out = append(out, `{"took":`...)
	out = strconv.AppendInt(out, h.now().Sub(start).Milliseconds(), 10)
	failed := false
	for _, it := range items {
		failed = failed || it.status >= 300
	}
	out = append(out, `,"errors":`...)
	out = strconv.AppendBool(out, failed)
	out = append(out, `,"items":[`...)
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"`...)
		out = append(out, it.op...)
		out = append(out, `":`...)
		out = h.appendResult(out, it)
		out = append(out, '}')
	}
	out = append(out, "]}\n"...)
	writeJSON(w, http.StatusOK, out)
}

// appendResult appends the answer for one document, as Elasticsearch's
// bulk and index APIs give it.
func (h *handler) appendResult(out []byte, it bulkItem) []byte {
	out = append(out, `{"_index":`...)
	out = intake.AppendJSONString(out, it.index)
	out = append(out, `,"_id":`...)
	out = intake.AppendJSONString(out, it.id)
	if it.status >= 300 {
		out = append(out, `,"status":`...)
		out = strconv.AppendInt(out, int64(it.status), 10)
		out = append(out, `,"error":{"type":`...)
		out = intake.AppendJSONString(out, it.errType)
		out = append(out, `,"reason":`...)
		out = intake.AppendJSONString(out, it.reason)
		return append(out, "}}"...)
	}
	out = append(out, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":`...)
	out = strconv.AppendInt(out, h.seqNo.Add(1)-1, 10)
	out = append(out, `,"_primary_term":1,"status":`...)
	out = strconv.AppendInt(out, int64(it.status), 10)
	return append(out, '}')
}

// bulkParser turns a bulk body into items and the events to store.
type bulkParser struct {
	l         lines
	pathIndex string
	src       *source
	received  int64
	items     []bulkItem
	evs       []event.Event
}

// parseBulk turns a bulk body into items and the events to store.
func parseBulk(body []byte, pathIndex string, src *source, received int64) ([]bulkItem, []event.Event) {
	p := &bulkParser{l: lines{b: body}, pathIndex: pathIndex, src: src, received: received,
		evs: make([]event.Event, 0, bytes.Count(body, []byte{'\n'})/2+1)}
	for {
		line, no, ok := p.l.next()
		if !ok {
			return p.items, p.evs
		}
		op, meta, err := parseAction(line)
		switch {
		case err != nil:
			p.malformed(line, no, err)
		case op == "update" || op == "delete":
			if op == "update" {
				p.l.next() // its partial document, not an event
			}
			p.items = append(p.items, bulkItem{op: op, index: cmp.Or(meta.Index, pathIndex), id: meta.ID, ev: -1,
				status: http.StatusBadRequest, errType: "illegal_argument_exception",
				reason: "koban keeps events append-only: [" + op + "] is not supported"})
		default:
			p.document(op, meta, no)
		}
	}
}

// document reads the document of an index or create action on line no.
func (p *bulkParser) document(op string, meta actionMeta, no int) {
	it := bulkItem{op: op, index: cmp.Or(meta.Index, p.pathIndex), id: meta.ID, ev: -1}
	doc, dno, ok := p.l.next()
	if !ok {
		it.status, it.errType = http.StatusBadRequest, "action_request_validation_exception"
		it.reason = fmt.Sprintf("Validation Failed: 1: no document after the action on line %d;", no)
		p.items = append(p.items, it)
		return
	}
	var err error
	it.ev, err = p.keep(doc, it.index, dno, "")
	answerDoc(&it, &p.evs[it.ev], err)
	p.items = append(p.items, it)
}

// malformed answers an action line that did not parse, 400. The line is
// kept as a flagged event, never dropped; when the next line is not an
// action either, it is taken as this item's document and kept too.
func (p *bulkParser) malformed(line []byte, no int, err error) {
	it := bulkItem{op: "index", index: p.pathIndex, status: http.StatusBadRequest,
		errType: "illegal_argument_exception", reason: fmt.Sprintf("Malformed action/metadata line [%d]: %v", no, err)}
	it.ev, _ = p.keep(line, p.pathIndex, no, fmt.Sprintf("bulk line %d: malformed action line", no))
	peek := p.l
	if doc, dno, ok := peek.next(); ok {
		if _, _, aerr := parseAction(doc); aerr != nil {
			p.l = peek
			it.ev, _ = p.keep(doc, p.pathIndex, dno, fmt.Sprintf("bulk line %d: its action line was malformed", dno))
		}
	}
	it.id = p.evs[it.ev].ID.String()
	p.items = append(p.items, it)
}

// keep stores line as an event of index and returns its position; a line
// that is not a JSON object is kept flagged, and the error returned. why,
// when set, flags an event that parsed but lacks its metadata.
func (p *bulkParser) keep(line []byte, index string, lineNo int, why string) (int, error) {
	p.evs = append(p.evs, event.Event{})
	ev := &p.evs[len(p.evs)-1]
	newEvent(ev, p.src, p.received)
	err := fillDoc(ev, line, index, lineNo)
	if err == nil && why != "" {
		ev.Flag(event.FlagParseError, why)
	}
	return len(p.evs) - 1, err
}

// fillDoc fills ev from the document doc sent to index; a document that is
// not a JSON object is kept flagged, and the error says on which line of
// the request it was (0: the whole body).
func fillDoc(ev *event.Event, doc []byte, index string, lineNo int) error {
	err := intake.FromJSON(doc, ev)
	if err != nil {
		if lineNo > 0 {
			err = fmt.Errorf("bulk line %d: %w", lineNo, err)
		} else {
			err = fmt.Errorf("document: %w", err)
		}
		intake.Unparsed(doc, err, ev)
	}
	if index != "" {
		ev.Set(fieldIndex, index)
	}
	return err
}

// answerDoc completes it for its stored document ev: the sender's _id, if
// any, makes a resent document the same event (a derived id), and a
// document that did not parse is answered 400 although it is kept.
func answerDoc(it *bulkItem, ev *event.Event, parseErr error) {
	if it.id != "" && ev.Time != 0 {
		ev.ID = event.DeriveID(ev.Time, []byte(it.index+"\x00"+it.id))
	}
	if it.id == "" {
		it.id = ev.ID.String()
	}
	it.status = http.StatusCreated
	if parseErr != nil {
		it.status, it.errType = http.StatusBadRequest, "document_parsing_exception"
		it.reason = fmt.Sprintf("failed to parse: %v (kept by koban as a flagged event)", parseErr)
	}
}

// storeError is the per-item error for a document the sink did not take.
func storeError(status int) (int, string, string) {
	if status == http.StatusTooManyRequests {
		return status, "es_rejected_execution_exception", "koban is busy; retry later"
	}
	return status, "unavailable_shards_exception", "koban could not store the document; retry later"
}

// refuseStore answers a request none of whose documents were stored.
func (h *handler) refuseStore(w http.ResponseWriter, status int) {
	_, typ, reason := storeError(status)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeESError(w, status, typ, reason)
}

// readES takes a slot and reads the body of an Elasticsearch write
// request, answering refusals itself; ok is false when the request is
// answered. When ok, the caller must call release once its events are
// stored, so that the slot bounds the memory they use.
func (h *handler) readES(w http.ResponseWriter, r *http.Request) (body []byte, src *source, c *intake.Counter, release func(), ok bool) {
	src = sourceOf(r)
	c = h.reg.Source(src.name, kindES)
	if !h.acquire() {
		c.Rejected(reasonTooMany)
		h.refuseStore(w, http.StatusTooManyRequests)
		return nil, src, c, nil, false
	}
	body, err := readBody(w, r, h.maxBody)
	if err != nil {
		h.releaseSlot()
		var be *bodyError
		if errors.As(err, &be) {
			c.Rejected(be.reason)
			h.warn(be.reason, "http intake request refused", "source", src.name, "reason", be.reason)
			typ := "parse_exception"
			if be.status == http.StatusRequestEntityTooLarge {
				typ = "content_too_long_exception"
			}
			writeESError(w, be.status, typ, be.msg)
		}
		return nil, src, c, nil, false
	}
	return body, src, c, h.releaseSlot, true
}

// doc serves the single-document APIs: POST /{index}/_doc,
// PUT|POST /{index}/_doc/{id} and /{index}/_create/{id}. The body is one
// document, possibly over several lines.
func (h *handler) doc(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	body, src, c, release, ok := h.readES(w, r)
	if !ok {
		return
	}
	defer release()
	if len(bytes.TrimSpace(body)) == 0 {
		writeESError(w, http.StatusBadRequest, "parse_exception", "request body is required")
		return
	}
	it := bulkItem{op: "index", index: r.PathValue("index"), id: r.PathValue("id")}
	evs := make([]event.Event, 1)
	newEvent(&evs[0], src, start.UnixNano())
	answerDoc(&it, &evs[0], fillDoc(&evs[0], body, it.index, 0))
	if _, err := h.store(r.Context(), evs); err != nil {
		status, _ := h.sinkFailed(c, src, err)
		h.refuseStore(w, status)
		return
	}
	c.Accepted(evs)
	if it.status >= 300 {
		writeESError(w, it.status, it.errType, it.reason)
		return
	}
	writeJSON(w, it.status, append(h.appendResult(nil, it), '\n'))
}
