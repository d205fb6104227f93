// SPDX-License-Identifier: Apache-2.0

//go:build race

package file

// raceEnabled: under the race detector (which this package, having no
// goroutines, gains little from) the largest sample files are left out.
const raceEnabled = true
