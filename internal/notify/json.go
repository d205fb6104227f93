// SPDX-License-Identifier: Apache-2.0

package notify

import (
	"bytes"
	"encoding/json"
	"time"
)

// JSONVersion is the version of JSONMessage. Within a version, fields are
// only ever added, never renamed, retyped or removed.
const JSONVersion = 1

// JSONMessage is the body the json webhook kind POSTs, with
// Content-Type application/json; charset=utf-8. Every field is always
// present (lists as [], not null). Texts are the alert's own, not cut and
// not escaped: a receiver must escape them for wherever it shows them. A
// URL that is not absolute http or https is sent as "".
//
// When a secret is configured, SignatureHeader carries
// "sha256=" + hex(HMAC-SHA256(secret, raw body)); since sent_at is inside
// the signed body, a receiver can also refuse old deliveries.
//
//	{
//	  "version": 1,
//	  "kind": "alert",                        // or "digest" (items not empty)
//	  "sent_at": "2025-04-01T09:30:00Z",      // RFC 3339, UTC
//	  "title": "…", "summary": "…",
//	  "level": "high",                        // informational|low|medium|high|critical
//	  "url": "https://koban.example/alerts/42",
//	  "lang": "ja",                           // language of the texts
//	  "facts": [{"name": "Host", "value": "pc-01"}],
//	  "items": [{"title": "…", "level": "medium", "url": "…",
//	             "time": "2025-04-01T09:00:00Z", "count": 3}]  // time null when unknown
//	}
type JSONMessage struct {
	Version int        `json:"version"`
	Kind    string     `json:"kind"`
	SentAt  time.Time  `json:"sent_at"`
	Title   string     `json:"title"`
	Summary string     `json:"summary"`
	Level   Level      `json:"level"`
	URL     string     `json:"url"`
	Lang    string     `json:"lang"`
	Facts   []JSONFact `json:"facts"`
	Items   []JSONItem `json:"items"`
}

// JSONFact is one entry of JSONMessage.Facts.
type JSONFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// JSONItem is one entry of JSONMessage.Items.
type JSONItem struct {
	Title string     `json:"title"`
	Level Level      `json:"level"`
	URL   string     `json:"url"`
	Time  *time.Time `json:"time"`
	Count int        `json:"count"`
}

func jsonPayload(m Message, now time.Time) ([]byte, error) {
	j := JSONMessage{
		Version: JSONVersion,
		Kind:    "alert",
		SentAt:  now.UTC().Truncate(time.Second),
		Title:   m.Title,
		Summary: m.Summary,
		Level:   m.Level,
		URL:     link(m.URL),
		Lang:    string(m.Lang),
		Facts:   make([]JSONFact, 0, len(m.Facts)),
		Items:   make([]JSONItem, 0, len(m.Items)),
	}
	if m.Digest() {
		j.Kind = "digest"
	}
	if j.Lang == "" {
		j.Lang = "en"
	}
	for _, f := range m.Facts {
		j.Facts = append(j.Facts, JSONFact(f))
	}
	for _, it := range m.Items {
		ji := JSONItem{Title: it.Title, Level: it.Level, URL: link(it.URL), Count: it.Count}
		if !it.Time.IsZero() {
			t := it.Time.UTC()
			ji.Time = &t
		}
		j.Items = append(j.Items, ji)
	}
	return marshal(j)
}

// marshal encodes v without escaping <, > and & (the bodies are never put
// into HTML, and Japanese and markup-heavy text stays smaller).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
