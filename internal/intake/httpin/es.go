// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/koban-csirt/koban/internal/intake"
)

// The Elasticsearch version koban answers as. Shippers read it to choose
// their request format (8: no _type) and Beats refuse a server older than
// themselves unless output.elasticsearch.allow_older_versions is true (the
// default since Beats 8.11).
const (
	esVersion     = "8.17.0"
	esLucene      = "9.12.0"
	esBuildHash   = "koban"
	esBuildDate   = "2024-12-11T12:08:05.663969764Z"
	esClusterName = "koban"
	esClusterUUID = "a0b0bce2-koban-0000-0000-000000000000"
	esNodeID      = "koban-intake"
)

// routes registers the routes. Most Elasticsearch paths start with an index
// name, which ServeMux patterns cannot tell from the setup APIs' names
// (/{index}/_bulk against /_template/{name}), so dispatch sorts them.
func (h *handler) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /ingest/v1/events", h.ingest)
	m.HandleFunc("GET /{$}", h.info) // GET patterns serve HEAD too
	m.HandleFunc("/", h.dispatch)
	h.mux = m
}

// dispatch routes the Elasticsearch API. Setup calls (templates, ILM
// policies, pipelines, data streams) are answered plausibly and ignored:
// koban keeps no indices.
func (h *handler) dispatch(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	seg := strings.Split(path, "/")
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	write := r.Method == http.MethodPost || r.Method == http.MethodPut
	switch {
	case write && path == "_bulk":
		h.bulk(w, r)
	case write && len(seg) == 2 && seg[1] == "_bulk" && !strings.HasPrefix(seg[0], "_"):
		r.SetPathValue("index", seg[0])
		h.bulk(w, r)
	case r.Method == http.MethodPost && len(seg) == 2 && seg[1] == "_doc" && !strings.HasPrefix(seg[0], "_"),
		write && len(seg) == 3 && (seg[1] == "_doc" || seg[1] == "_create") && !strings.HasPrefix(seg[0], "_"):
		r.SetPathValue("index", seg[0])
		if len(seg) == 3 {
			r.SetPathValue("id", seg[2])
		}
		h.doc(w, r)
	case read && path == "_license":
		h.license(w, r)
	case read && path == "_xpack":
		h.xpack(w, r)
	case read && (path == "_cluster/health" || strings.HasPrefix(path, "_cluster/health/")):
		h.health(w, r)
	case read && path == "_cat/health": // rsyslog's omelasticsearch checks HEAD /_cat/health
		h.catHealth(w, r)
	case read && (path == "_nodes" || strings.HasPrefix(path, "_nodes/")):
		h.nodes(w, r)
	default:
		for _, a := range setupAPIs {
			name, ok := strings.CutPrefix(path, a.path)
			if !ok || name != "" && name[0] != '/' {
				continue
			}
			name = strings.TrimPrefix(name, "/")
			switch {
			case read:
				r.SetPathValue("name", name)
				a.get(w, r)
				return
			case name != "" && (write || r.Method == http.MethodDelete):
				acknowledge(w, r)
				return
			}
		}
		h.fallback(w, r)
	}
}

// setupAPI is an Elasticsearch setup endpoint shippers call at start-up.
type setupAPI struct {
	path string
	get  http.HandlerFunc
}

// setupAPIs answer GET (and HEAD) as if the named object existed, so that
// shippers do not try to create it; PUT, POST and DELETE are acknowledged.
var setupAPIs = []setupAPI{
	{"_template", getNamed(func(n string) any {
		return map[string]any{n: map[string]any{"order": 0, "index_patterns": []string{n + "*"}, "settings": map[string]any{}, "mappings": map[string]any{}, "aliases": map[string]any{}}}
	})},
	{"_index_template", getNamed(func(n string) any {
		return map[string]any{"index_templates": []any{map[string]any{"name": n, "index_template": map[string]any{
			"index_patterns": []string{n + "*"}, "template": map[string]any{}, "composed_of": []string{}, "data_stream": map[string]any{}}}}}
	})},
	{"_component_template", getNamed(func(n string) any {
		return map[string]any{"component_templates": []any{map[string]any{"name": n, "component_template": map[string]any{"template": map[string]any{}}}}}
	})},
	{"_ilm/policy", getNamed(func(n string) any {
		return map[string]any{n: map[string]any{"version": 1, "modified_date": esBuildDate, "policy": map[string]any{"phases": map[string]any{}}}}
	})},
	{"_ingest/pipeline", getNamed(func(n string) any {
		return map[string]any{n: map[string]any{"description": "accepted and ignored by koban", "processors": []any{}}}
	})},
	{"_data_stream", getNamed(func(n string) any {
		return map[string]any{"data_streams": []any{map[string]any{
			"name": n, "timestamp_field": map[string]any{"name": "@timestamp"}, "indices": []any{},
			"generation": 1, "status": "GREEN", "template": n, "hidden": false, "system": false}}}
	})},
}

func getNamed(body func(name string) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if name == "" {
			name = "koban"
		}
		writeValue(w, r, http.StatusOK, body(name))
	}
}

func acknowledge(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []byte(`{"acknowledged":true}`+"\n"))
}

// info answers GET / as Elasticsearch does; clients check version.number,
// build_flavor, the tagline and the X-Elastic-Product header.
func (h *handler) info(w http.ResponseWriter, r *http.Request) {
	writeValue(w, r, http.StatusOK, map[string]any{
		"name":         esNodeID,
		"cluster_name": esClusterName,
		"cluster_uuid": esClusterUUID,
		"version": map[string]any{
			"number":                              esVersion,
			"build_flavor":                        "default",
			"build_type":                          "tar",
			"build_hash":                          esBuildHash,
			"build_date":                          esBuildDate,
			"build_snapshot":                      false,
			"lucene_version":                      esLucene,
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	})
}

var esLicense = map[string]any{
	"status": "active", "uid": esClusterUUID, "type": "basic", "issue_date": "2024-01-01T00:00:00.000Z",
	"issue_date_in_millis": 1704067200000, "max_nodes": 1000, "max_resource_units": nil,
	"issued_to": esClusterName, "issuer": "elasticsearch", "start_date_in_millis": -1,
}

func (h *handler) license(w http.ResponseWriter, r *http.Request) {
	writeValue(w, r, http.StatusOK, map[string]any{"license": esLicense})
}

func (h *handler) xpack(w http.ResponseWriter, r *http.Request) {
	feature := map[string]any{"available": true, "enabled": true}
	writeValue(w, r, http.StatusOK, map[string]any{
		"build":   map[string]any{"hash": esBuildHash, "date": esBuildDate},
		"license": map[string]any{"uid": esClusterUUID, "type": "basic", "mode": "basic", "status": "active"},
		"features": map[string]any{
			"ilm": feature, "security": feature, "monitoring": feature, "data_streams": feature,
			"ml": map[string]any{"available": false, "enabled": false},
		},
		"tagline": "You know, for X",
	})
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	writeValue(w, r, http.StatusOK, map[string]any{
		"cluster_name": esClusterName, "status": "green", "timed_out": false,
		"number_of_nodes": 1, "number_of_data_nodes": 1,
		"active_primary_shards": 0, "active_shards": 0, "relocating_shards": 0,
		"initializing_shards": 0, "unassigned_shards": 0, "delayed_unassigned_shards": 0,
		"number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
		"task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0,
	})
}

// catHealth answers the cat API's health line (JSON with ?format=json).
func (h *handler) catHealth(w http.ResponseWriter, r *http.Request) {
	now := h.now().UTC()
	if r.URL.Query().Get("format") == "json" {
		writeValue(w, r, http.StatusOK, []any{map[string]any{
			"epoch": strconv.FormatInt(now.Unix(), 10), "timestamp": now.Format("15:04:05"), "cluster": esClusterName,
			"status": "green", "node.total": "1", "node.data": "1", "shards": "0", "pri": "0", "relo": "0",
			"init": "0", "unassign": "0", "pending_tasks": "0", "max_task_wait_time": "-", "active_shards_percent": "100.0%",
		}})
		return
	}
	line := fmt.Sprintf("%d %s %s green 1 1 0 0 0 0 0 0 - 100.0%%\n", now.Unix(), now.Format("15:04:05"), esClusterName)
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, line) // the client went away: nothing to do
}

// nodes answers the node info a sniffing client reads; the one node's
// publish address is the address the client used.
func (h *handler) nodes(w http.ResponseWriter, r *http.Request) {
	addr := r.Host
	if addr == "" {
		addr = "127.0.0.1:9200"
	}
	writeValue(w, r, http.StatusOK, map[string]any{
		"_nodes":       map[string]any{"total": 1, "successful": 1, "failed": 0},
		"cluster_name": esClusterName,
		"nodes": map[string]any{esNodeID: map[string]any{
			"name": esNodeID, "version": esVersion, "build_flavor": "default", "build_type": "tar",
			"roles": []string{"data", "ingest", "master"}, "host": addr, "ip": addr,
			"http": map[string]any{"publish_address": addr, "bound_address": []string{addr}, "max_content_length_in_bytes": DefaultMaxBodyBytes},
		}},
	})
}

// fallback answers what no route matched: an unknown PUT (creating an
// index, a mapping, an alias) is acknowledged and ignored; anything else
// is 404 in Elasticsearch's shape, so that no write is ever acknowledged
// without being stored.
func (h *handler) fallback(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut {
		acknowledge(w, r)
		return
	}
	writeESError(w, http.StatusNotFound, "resource_not_found_exception",
		"koban does not implement "+r.Method+" "+r.URL.Path)
}

// refuse answers a refused request in the shape its client expects.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, kind string, status int, reason string) {
	msg := map[string]string{
		reasonNoCredentials:  "missing authentication credentials",
		reasonBadCredentials: "unable to authenticate with provided credentials",
		reasonAddress:        "this source may not send from this address",
	}[reason]
	if kind == kindHTTP {
		writeError(w, status, msg)
		return
	}
	writeESError(w, status, "security_exception", msg)
}

// writeError writes koban's own error shape, {"error":"..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	b := append([]byte(`{"error":`), intake.AppendJSONString(nil, msg)...)
	writeJSON(w, status, append(b, "}\n"...))
}

// writeESError writes Elasticsearch's error shape.
func writeESError(w http.ResponseWriter, status int, typ, reason string) {
	cause := map[string]any{"type": typ, "reason": reason}
	b, _ := json.Marshal(map[string]any{ // cannot fail: strings and ints only
		"error":  map[string]any{"root_cause": []any{cause}, "type": typ, "reason": reason},
		"status": status,
	})
	writeJSON(w, status, append(b, '\n'))
}

// writeValue writes v as JSON; ?pretty is honoured for people with curl.
func writeValue(w http.ResponseWriter, r *http.Request, status int, v any) {
	var b []byte
	if _, pretty := r.URL.Query()["pretty"]; pretty {
		b, _ = json.MarshalIndent(v, "", "  ") // cannot fail: maps of plain values
	} else {
		b, _ = json.Marshal(v) // cannot fail: maps of plain values
	}
	writeJSON(w, status, append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	if h.Get("Content-Type") == "" { // ServeHTTP sets the versioned type when asked for
		h.Set("Content-Type", "application/json; charset=UTF-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client went away: nothing to do
}

// compatibleJSON reports whether the client asked for Elasticsearch's
// versioned media type, which the 8.x language clients do; the answer then
// carries that type, as Elasticsearch's does.
func compatibleJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "vnd.elasticsearch+json")
}

const compatibleType = "application/vnd.elasticsearch+json;compatible-with=8"
