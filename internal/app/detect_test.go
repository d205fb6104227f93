// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// inbox is an in-process SMTP server that keeps what it receives.
type inbox struct {
	mu   sync.Mutex
	msgs [][]byte
	addr *net.TCPAddr
}

type inboxSession struct{ in *inbox }

func (s *inboxSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *inboxSession) Reset()                                 {}
func (s *inboxSession) Logout() error                          { return nil }
func (s *inboxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, b)
	s.in.mu.Unlock()
	return err
}

func newInbox(t *testing.T) *inbox {
	in := &inbox{}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &inboxSession{in}, nil }))
	srv.Domain = "mail.koban.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in.addr = ln.Addr().(*net.TCPAddr)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); ln.Close() })
	return in
}

func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dialListener connects to a listener koban starts: serve prints its URL
// before the pipeline's listeners are up, so the first tries may be
// refused.
func dialListener(t *testing.T, addr string) (net.Conn, error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var c net.Conn
		if c, err = net.Dial("tcp", addr); err == nil {
			return c, nil
		}
	}
	return nil, err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDetectionNotifies runs koban with syslog over TCP and two
// notification channels, a real SMTP listener and a JSON webhook peer: an
// sshd login from a public address (koban's own rule pack) becomes one
// alert, stored, then one e-mail and one webhook call; the same login again
// joins that alert and sends nothing more.
func TestDetectionNotifies(t *testing.T) {
	in := newInbox(t)
	var hookMu sync.Mutex
	var hooks []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		hookMu.Lock()
		hooks = append(hooks, m)
		hookMu.Unlock()
	}))
	defer hook.Close()
	hookCount := func() int { hookMu.Lock(); defer hookMu.Unlock(); return len(hooks) }

	dir := t.TempDir()
	syslogAddr := freePort(t)
	cfg := fmt.Sprintf(`intake:
  syslog:
    tcp: %s
notify:
  allow_internal: true
  smtp: {host: 127.0.0.1, port: %d, tls: none, from: koban@example.com}
  channels:
    - {name: soc-mail, kind: email, to: [soc@example.com], min_level: medium, lang: ja}
    - {name: soc-hook, kind: json, url: "%s/hook", min_level: medium}
`, syslogAddr, in.addr.Port, hook.URL)
	cfgPath := filepath.Join(dir, "koban.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, dir, nil, "--config", cfgPath)

	send := func() {
		conn, err := dialListener(t, syslogAddr)
		if err != nil {
			t.Fatal(err)
		}
		ts := time.Now().UTC().Format(time.RFC3339)
		fmt.Fprintf(conn, "<38>1 %s web01 sshd 4242 - - Accepted password for root from 203.0.113.9 port 50022 ssh2\n", ts)
		conn.Close()
	}
	send()
	waitFor(t, "an e-mail and a webhook call", func() bool { return in.count() == 1 && hookCount() == 1 })

	msg, err := mail.ReadMessage(bytes.NewReader(in.msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subject, "SSH Login From a Public IP Address") {
		t.Errorf("subject %q", subject)
	}
	h := hooks[0]
	if fmt.Sprint(h["title"]) != "SSH Login From a Public IP Address" || fmt.Sprint(h["level"]) != "medium" {
		t.Errorf("webhook payload %v", h)
	}

	// The same login again groups into the alert: no new notification.
	send()
	time.Sleep(1500 * time.Millisecond)
	if in.count() != 1 || hookCount() != 1 {
		t.Errorf("a grouped detection notified again: %d e-mails, %d webhook calls", in.count(), hookCount())
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

type mimeDecoder = mime.WordDecoder
