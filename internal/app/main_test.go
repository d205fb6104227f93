// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests run this test binary as the koban program (for
// exit codes and signals), exactly as cmd/koban's main does.
func TestMain(m *testing.M) {
	if os.Getenv("KOBAN_TEST_AS_PROGRAM") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := ExitCode(Main(ctx, os.Args[1:], OSEnv()), os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv returns an Env whose configuration points at dataDir.
func testEnv(dataDir string, stdin string, extra map[string]string) (Env, *syncBuffer, *syncBuffer) {
	out, errb := &syncBuffer{}, &syncBuffer{}
	vars := map[string]string{"KOBAN_DATA_DIR": dataDir, "KOBAN_LOG_FORMAT": "json", "USER": "tester"}
	for k, v := range extra {
		vars[k] = v
	}
	return Env{Stdin: strings.NewReader(stdin), Stdout: out, Stderr: errb, Getenv: func(k string) string { return vars[k] }}, out, errb
}

// run runs a koban command in-process against dataDir.
func run(t *testing.T, dataDir string, args ...string) (string, string, error) {
	t.Helper()
	return runIn(t, dataDir, "", nil, args...)
}

func runIn(t *testing.T, dataDir, stdin string, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	env, out, errb := testEnv(dataDir, stdin, vars)
	err := Main(context.Background(), args, env)
	return out.String(), errb.String(), err
}

// server is koban serve running in-process.
type server struct {
	url      string
	password string // the first-run password, if this start printed one
	stop     func() error
	out      *syncBuffer
	log      *syncBuffer
}

var (
	urlLine = regexp.MustCompile(`is running at (https?://[0-9.:]+)/`)
	pwLine  = regexp.MustCompile(`(?m)^    ([A-Za-z0-9]{5}-[A-Za-z0-9]{5}-[A-Za-z0-9]{5}-[A-Za-z0-9]{5})$`)
)

func startServe(t *testing.T, dataDir string, vars map[string]string, args ...string) *server {
	t.Helper()
	env, out, errb := testEnv(dataDir, "", vars)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), env) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := urlLine.FindStringSubmatch(out.String()); m != nil {
			time.Sleep(10 * time.Millisecond) // the password lines follow the URL line
			s := &server{url: m[1], out: out, log: errb}
			if pm := pwLine.FindStringSubmatch(out.String()); pm != nil {
				s.password = pm[1]
			}
			var once sync.Once
			var stopErr error
			s.stop = func() error {
				once.Do(func() {
					cancel()
					select {
					case stopErr = <-done:
					case <-time.After(20 * time.Second):
						stopErr = fmt.Errorf("serve did not stop within 20s")
					}
				})
				return stopErr
			}
			t.Cleanup(func() { _ = s.stop() })
			return s
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended before listening: %v\nstdout: %s\nstderr: %s", err, out, errb)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start within 30s\nstdout: %s\nstderr: %s", out, errb)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}
