// SPDX-License-Identifier: Apache-2.0

package auth

import (
	"net/netip"
	"time"
)

// Throttle counts failed sign-ins for one key (an account or an address)
// within a window, and locks the key for a while once they pass a limit.
type Throttle struct {
	Key         string // "user:alice" or "ip:192.0.2.0" (IPv6: the /64)
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time
}

// ThrottlePolicy configures throttling.
type ThrottlePolicy struct {
	MaxFailuresPerUser int
	MaxFailuresPerIP   int
	Window             time.Duration
	Lockout            time.Duration // first lock; doubles with each further failure
	MaxLockout         time.Duration
}

// fail records a failure at now with limit max and reports whether this
// failure started a lock.
func (t *Throttle) fail(now time.Time, max int, p ThrottlePolicy) (locked bool) {
	if t.WindowStart.IsZero() || now.Sub(t.WindowStart) > p.Window {
		t.WindowStart, t.Failures = now, 0
	}
	t.Failures++
	if t.Failures < max {
		return false
	}
	d := p.Lockout
	for i := max; i < t.Failures && d < p.MaxLockout; i++ {
		d *= 2
	}
	if d > p.MaxLockout {
		d = p.MaxLockout
	}
	t.LockedUntil = now.Add(d)
	// The window restarts with the lock, so failures keep escalating while
	// an attack goes on and expire after it stops.
	t.WindowStart = now
	return true
}

func userKey(name string) string { return "user:" + name }

// ipKey groups IPv6 clients by /64, which is what one customer usually gets.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + a.String()
}
