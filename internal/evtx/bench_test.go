// SPDX-License-Identifier: Apache-2.0

package evtx_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/koban-csirt/koban/internal/evtx"
	"github.com/koban-csirt/koban/internal/shareddata"
)

// BenchmarkRecords walks every record of every EVTX file of the shared data
// (read into memory first) on one goroutine. MB/s is over the files' sizes:
//
//	go test ./internal/evtx -run '^$' -bench BenchmarkRecords -benchtime 5x -cpu 1
func BenchmarkRecords(b *testing.B) {
	files := evtxFiles(b, shareddata.Dir(b))
	data := make([][]byte, len(files))
	var total int64
	for i, f := range files {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data[i] = d
		total += int64(len(d))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	var records, fields int
	b.ResetTimer()
	for b.Loop() {
		records, fields = 0, 0
		for i, d := range data {
			r, err := evtx.NewReader(bytes.NewReader(d), int64(len(d)))
			if err != nil {
				b.Fatalf("%s: %v", files[i], err)
			}
			err = r.Records(func(rec *evtx.Record) error {
				records++
				fields += len(rec.Fields)
				return nil
			}, nil)
			if err != nil {
				b.Fatalf("%s: %v", files[i], err)
			}
		}
	}
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(records), "records")
	b.ReportMetric(float64(fields), "fields")
}
