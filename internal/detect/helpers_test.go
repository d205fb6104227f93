// SPDX-License-Identifier: Apache-2.0

package detect_test

import (
	"io"
	"strings"
)

func stringReader(s string) io.Reader { return strings.NewReader(s) }
