// SPDX-License-Identifier: Apache-2.0

package journal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend appends batches of ~300-byte events from 1 and 8
// goroutines; one op is one batch. events/s counts acknowledged (synced)
// events.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1000} {
		for _, appenders := range []int{1, 8} {
			b.Run(fmt.Sprintf("batch=%d/appenders=%d", size, appenders), func(b *testing.B) {
				j, err := Open(b.TempDir(), Options{MaxBytes: 64 << 30, QueueEvents: 1 << 20})
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				evs := batch("bench", 0, size)
				b.SetBytes(int64(len(appendPayload(nil, evs))))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range appenders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							if err := j.Append(context.Background(), evs); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*size)/time.Since(start).Seconds(), "events/s")
				b.ReportMetric(float64(j.syncs.Load())/float64(b.N), "syncs/op")
			})
		}
	}
}

// BenchmarkRead reads back events appended beforehand.
func BenchmarkRead(b *testing.B) {
	j, err := Open(b.TempDir(), Options{MaxBytes: 64 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	evs := batch("bench", 0, 1000)
	for range 20 {
		if err := j.Append(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r, err := j.Reader("bench")
		if err != nil {
			b.Fatal(err)
		}
		n += len(drain(b, r))
		r.Close()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
