// SPDX-License-Identifier: Apache-2.0

package httpin

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/koban-csirt/koban/internal/event"
)

type discardSink struct{}

func (discardSink) Append(context.Context, []event.Event) error { return nil }

// BenchmarkBulkWinlogbeat measures the handler alone (no network, a sink
// that keeps nothing) on Winlogbeat documents, 1,000 per request.
func BenchmarkBulkWinlogbeat(b *testing.B) {
	fixture, err := os.ReadFile("testdata/winlogbeat-8.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	const perRequest = 999 // the fixture has 3 documents
	body := bytes.Repeat(fixture, perRequest/3)
	h := New(Config{Sources: []Source{{Name: "wlb", Token: tokenA}}, Sink: discardSink{}})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/_bulk", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tokenA)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "events/s")
}
