// SPDX-License-Identifier: Apache-2.0

package reportdesk

import (
	"fmt"
	"sync"
	"time"
)

// RetryAfter is the cause of the TooMany fault Admit returns: how long the
// client should wait.
type RetryAfter time.Duration

func (r RetryAfter) Error() string { return fmt.Sprintf("retry after %s", time.Duration(r)) }

// maxLimiterKeys bounds the addresses a Limiter remembers. Past it, the
// oldest windows are forgotten first; a flood from many addresses then
// loses its own history rather than growing memory without end.
const maxLimiterKeys = 10000

// Limiter allows n events per key (a client address) in any sliding window
// of a given length, in memory: a restart forgets it, which suits a limit
// meant to slow down a flood of anonymous reports, not to count exactly.
// It is safe for concurrent use.
type Limiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	seen   map[string][]time.Time // per key, the times of allowed events, oldest first
}

// NewLimiter returns a Limiter allowing n events per key per window.
func NewLimiter(n int, window time.Duration) *Limiter {
	return &Limiter{n: max(n, 1), window: window, seen: map[string][]time.Time{}}
}

// Allow records an event for key at now and reports true, or, when key has
// had n events in the window before now, reports false and how long until
// the oldest of them leaves the window. A refused event is not recorded.
func (l *Limiter) Allow(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.recent(key, now)
	if len(ts) >= l.n {
		l.seen[key] = ts
		return ts[0].Add(l.window).Sub(now), false
	}
	if _, known := l.seen[key]; !known && len(l.seen) >= maxLimiterKeys {
		l.prune(now)
	}
	l.seen[key] = append(ts, now)
	return 0, true
}

// recent returns key's events still inside the window at now.
func (l *Limiter) recent(key string, now time.Time) []time.Time {
	ts := l.seen[key]
	i := 0
	for i < len(ts) && !ts[i].Add(l.window).After(now) {
		i++
	}
	return ts[i:]
}

// prune forgets keys without events in the window and, if that is not
// enough, the key whose latest event is oldest.
func (l *Limiter) prune(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k := range l.seen {
		ts := l.recent(k, now)
		if len(ts) == 0 {
			delete(l.seen, k)
			continue
		}
		l.seen[k] = ts
		if last := ts[len(ts)-1]; oldestKey == "" || last.Before(oldest) {
			oldestKey, oldest = k, last
		}
	}
	if len(l.seen) >= maxLimiterKeys {
		delete(l.seen, oldestKey)
	}
}
