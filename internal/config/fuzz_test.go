// SPDX-License-Identifier: Apache-2.0

package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeYAML feeds arbitrary configuration files: the decoder must
// never panic, and whatever it accepts must then validate or be reported.
func FuzzDecodeYAML(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Default()
		if probs := decodeYAML("fuzz.yaml", b, &c); len(probs) == 0 {
			_ = c.Validate() // must not panic; problems are fine
		}
	})
}
