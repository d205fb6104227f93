// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPrivateRoutesLogNoSecret: the request log of a report's status link
// holds neither its token nor the client's address; other routes log both.
func TestPrivateRoutesLogNoSecret(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	e := newEnv(t, func(o *Options) { o.Log = slog.New(slog.NewTextHandler(&buf, nil)) })
	const token = "s3cr3t-status-token-0123456789"
	e.do(req{path: "/report/status/" + token, remote: "198.51.100.7:4000"})
	e.do(req{path: "/signin", remote: "198.51.100.8:4000"})
	log := buf.String()
	if strings.Contains(log, token) || strings.Contains(log, "198.51.100.7") {
		t.Errorf("the status link's token or address reached the log:\n%s", log)
	}
	if !strings.Contains(log, "/report/status/{token}") {
		t.Errorf("the status request is not logged by its pattern:\n%s", log)
	}
	if !strings.Contains(log, "198.51.100.8") || !strings.Contains(log, "path=/signin") {
		t.Errorf("an ordinary request lost its path or address in the log:\n%s", log)
	}
}
