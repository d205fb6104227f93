// SPDX-License-Identifier: Apache-2.0

package sigma

import "strings"

// byteFreq approximates how often each (lower-cased) byte occurs in event
// field values, measured over the shared data's EVTX samples: digits, e,
// '-' and space are the commonest; k, z, ';' and '`' are rare.
var byteFreq = func() [256]float64 {
	var f [256]float64
	for i := range f {
		f[i] = 0.001
	}
	for b, v := range map[byte]float64{
		'0': .101, 'e': .045, '-': .045, '1': .044, ' ': .041, 's': .036, 'a': .035, '2': .035, '4': .035,
		'c': .032, 'o': .032, 'i': .031, 't': .031, '5': .031, '3': .030, 'd': .029, '8': .027, '6': .026,
		'n': .025, '9': .024, 'r': .023, '7': .023, 'b': .021, 'f': .020, 'm': .017, 'w': .015, 'l': .014,
		'p': .013, '.': .012, 'u': .009, '\\': .009, 'x': .008, ':': .008, 'g': .007, 'y': .007, 'h': .006,
		'v': .004, 'k': .0035, ',': .003, '(': .003, ')': .003, 'z': .002,
	} {
		f[b] = v
	}
	return f
}()

// maxAnchorFreq is the most the anchor bytes of an automaton may occur in
// all for the check to pay: above it, most values hold one anyway.
const maxAnchorFreq = 0.02

// anchorsFor returns up to three bytes such that every pattern holds one of
// them, chosen to be rare, or nil when there is no such rare set. A value
// with none of them cannot match any pattern, and strings.IndexByte (which
// uses vector instructions) finds that out far faster than the automaton.
func anchorsFor(patterns []string) []byte {
	covered := make([]bool, len(patterns))
	left := len(patterns)
	var out []byte
	sum := 0.0
	for len(out) < 3 && left > 0 {
		best, bestScore := -1, 0.0
		for b := 0; b < 256; b++ {
			if b >= 'A' && b <= 'Z' {
				continue
			}
			n := 0
			for i, p := range patterns {
				if !covered[i] && strings.IndexByte(p, byte(b)) >= 0 {
					n++
				}
			}
			if n == 0 {
				continue
			}
			if score := float64(n) / byteFreq[b]; score > bestScore {
				best, bestScore = b, score
			}
		}
		if best < 0 {
			return nil
		}
		out = append(out, byte(best))
		sum += byteFreq[best]
		for i, p := range patterns {
			if !covered[i] && strings.IndexByte(p, byte(best)) >= 0 {
				covered[i] = true
				left--
			}
		}
	}
	if left > 0 || sum > maxAnchorFreq {
		return nil
	}
	return out
}

// mayMatch reports whether text holds one of the anchor bytes (in either
// case for letters).
func mayMatch(anchors []byte, text string) bool {
	for _, b := range anchors {
		if strings.IndexByte(text, b) >= 0 {
			return true
		}
		if b >= 'a' && b <= 'z' && strings.IndexByte(text, b-'a'+'A') >= 0 {
			return true
		}
	}
	return false
}
