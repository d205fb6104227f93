// SPDX-License-Identifier: Apache-2.0

package journal

// Stats describes the journal for the sources and health pages and
// /metrics. Sizes and readers are read from the directory, so they include
// other processes' appends; counters are this process's since Open.
type Stats struct {
	Bytes          int64  // in segment files on disk
	Segments       int    // segment files on disk
	Appended       uint64 // events acknowledged by Append
	Queued         int    // events waiting for the writer now
	FullRejections uint64 // Append calls refused with ErrFull
	Corrupt        uint64 // corrupt records skipped and torn records cut off
	Readers        []ReaderStats
}

// ReaderStats is one named reader's committed position and how far it lags.
type ReaderStats struct {
	Name      string
	Committed Position
	LagBytes  int64 // bytes in the journal after Committed
}

// Stats returns the journal's current figures. Errors reading the directory
// leave the affected figures zero.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	st := Stats{Queued: j.queued}
	j.mu.Unlock()
	st.Appended = j.appended.Load()
	st.FullRejections = j.rejected.Load()
	st.Corrupt = j.corrupt.Load()
	segs, err := listSegments(j.dir)
	if err != nil {
		return st
	}
	st.Segments = len(segs)
	for _, s := range segs {
		st.Bytes += s.size
	}
	readers, err := readPositions(j.dir)
	if err != nil {
		return st
	}
	for _, rp := range readers {
		rs := ReaderStats{Name: rp.name, Committed: rp.pos}
		for _, s := range segs {
			switch {
			case s.n > rp.pos.Segment:
				rs.LagBytes += s.size
			case s.n == rp.pos.Segment:
				rs.LagBytes += max(0, s.size-rp.pos.Offset)
			}
		}
		st.Readers = append(st.Readers, rs)
	}
	return st
}
