// SPDX-License-Identifier: Apache-2.0

package app

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/store"
	"github.com/koban-csirt/koban/internal/store/storetest"
)

func TestFirstRunAndRestart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "koban-data") // does not exist yet
	s := startServe(t, dir, nil)
	if s.password == "" {
		t.Fatalf("first start printed no one-time password:\n%s", s.out)
	}
	if !strings.Contains(s.out.String(), "初回起動") {
		t.Errorf("first-run message is not bilingual:\n%s", s.out)
	}
	if strings.Contains(s.log.String(), s.password) {
		t.Error("the one-time password reached the log")
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, mode %v; want 0700", err, st.Mode().Perm())
	}
	b := newBrowser(t, s.url)
	if code, _, body := b.get("/signin"); code != 200 || !strings.Contains(body, `id="signin-submit"`) {
		t.Fatalf("GET /signin: %d", code)
	}
	code, loc, _ := b.post("/signin", url.Values{"name": {"admin"}, "password": {s.password}, "next": {"/"}})
	if code != 303 || loc != "/" {
		t.Fatalf("sign in with the one-time password: %d %s", code, loc)
	}
	if code, loc, _ := b.get("/"); code != 303 || loc != "/settings/password" {
		t.Errorf("first page after the one-time password: %d %s, want the password form", code, loc)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// SQLite in WAL mode, in the data directory.
	db, err := sql.Open("sqlite", filepath.Join(dir, "koban.db"))
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	db.Close()

	// A second start reuses the data: no new password, the old one works.
	s2 := startServe(t, dir, nil)
	if s2.password != "" || strings.Contains(s2.out.String(), "First start") {
		t.Errorf("second start printed a new password:\n%s", s2.out)
	}
	b2 := newBrowser(t, s2.url)
	if code, loc, _ := b2.post("/signin", url.Values{"name": {"admin"}, "password": {s.password}}); code != 303 || loc != "/" {
		t.Errorf("sign in after restart: %d %s", code, loc)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, dir, nil)
	if out, _, err := run(t, dir, "healthcheck", "--url", s.url); err != nil || !strings.Contains(out, "healthy") {
		t.Errorf("healthcheck of a running koban: %v %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, _, err := run(t, dir, "healthcheck", "--url", "http://"+addr); err == nil || !strings.Contains(err.Error(), "unhealthy") {
		t.Errorf("healthcheck of nothing: %v, want unhealthy", err)
	}
}

// TestBackupWhileRunning takes a backup while koban serves and another
// writer keeps changing the store, then checks the archive restores.
func TestBackupWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, dir, nil)
	if _, _, err := run(t, dir, "user", "add", "dora", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	// Another writer appends to the audit trail as fast as it can while the
	// backup runs: the snapshot must still hold an intact chain.
	writer, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(dir, "koban.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	writes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := writer.AppendAudit(ctx, audit.New(audit.System, "test.write", "", nil, map[string]int{"n": writes})); err != nil {
				if ctx.Err() == nil {
					t.Errorf("concurrent write: %v", err)
				}
				return
			}
			mu.Lock()
			writes++
			mu.Unlock()
		}
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return writes }
	for count() < 50 {
		time.Sleep(time.Millisecond)
	}
	before := count()
	archive := filepath.Join(t.TempDir(), "backup.tar.gz")
	out, errOut, err := run(t, dir, "backup", "--out", archive)
	during := count() - before
	cancel()
	wg.Wait()
	if err != nil || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %v\n%s%s", err, out, errOut)
	}
	if during == 0 {
		t.Error("no write happened while the backup ran: the test proves nothing")
	}
	if code, _, _ := newBrowser(t, s.url).get("/healthz"); code != 200 {
		t.Errorf("koban after the backup: healthz %d", code)
	}
	restore := t.TempDir()
	files := untar(t, archive, restore)
	var m manifest
	if err := json.Unmarshal(files["MANIFEST.json"], &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	for name, sum := range m.Files {
		got := sha256.Sum256(files[name])
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: checksum differs from the manifest", name)
		}
	}
	if _, ok := files["koban.db"]; !ok {
		t.Fatalf("archive lacks koban.db: %v", m.Files)
	}
	db, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(restore, "koban.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.IntegrityCheck(context.Background()); err != nil {
		t.Errorf("restored database: %v", err)
	}
	if _, err := db.UserByName(context.Background(), "dora"); err != nil {
		t.Errorf("restored database lacks the user added before the backup: %v", err)
	}
	if n, _, err := db.VerifyAudit(context.Background()); err != nil {
		t.Errorf("restored audit trail: %v", err)
	} else {
		t.Logf("%d writes happened during the backup; the restored audit trail is intact with %d entries", during, n)
	}
}

func untar(t *testing.T, archive, dir string) map[string][]byte {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(h.Name)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

func TestBackupRefusesToWriteIntoTheDataDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, _, err := run(t, dir, "migrate", "up"); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := run(t, dir, "backup", "--out", filepath.Join(dir, "sub", "b.tar.gz"))
	if !errors.Is(err, ErrUsage) || !strings.Contains(errOut, "inside the data directory") {
		t.Errorf("backup into the data directory: %v\n%s", err, errOut)
	}
	if _, _, err := run(t, dir, "backup", "--out", filepath.Join(t.TempDir(), "b.tar.gz")); err != nil {
		t.Errorf("backup elsewhere: %v", err)
	}
}

// TestServeOnPostgres runs koban serve with --db on the PostgreSQL of
// KOBAN_TEST_POSTGRES, in a schema of its own.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	dsn := storetest.PostgresDSN(t)
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	dir := t.TempDir()
	s := startServe(t, dir, nil, "--db", dsn)
	if strings.Contains(s.log.String(), dsn) {
		t.Error("the database URL reached the log")
	}
	b := newBrowser(t, s.url)
	if code, loc, _ := b.post("/signin", url.Values{"name": {"admin"}, "password": {s.password}}); code != 303 || loc != "/" {
		t.Fatalf("sign in on PostgreSQL: %d %s", code, loc)
	}
	var n int
	if err := pg.QueryRow("SELECT count(*) FROM audit_log").Scan(&n); err != nil || n < 2 {
		t.Errorf("audit rows in PostgreSQL: %d, %v; want the admin's creation and sign-in", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "koban.db")); err == nil {
		t.Error("serve --db postgres:// also created an SQLite database")
	}
	if _, _, err := run(t, dir, "backup", "--db", dsn); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("backup with PostgreSQL: %v, want advice to use pg_dump", err)
	}
}

// TestServeTLS serves HTTPS with a certificate of its own: cookies become
// Secure and __Host- prefixed, and HSTS is sent.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	s := startServe(t, filepath.Join(dir, "data"), map[string]string{"KOBAN_TLS_CERT_FILE": certFile, "KOBAN_TLS_KEY_FILE": keyFile})
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("serve with TLS prints %s", s.url)
	}
	b := newBrowser(t, s.url)
	b.c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}}
	resp, err := b.c.PostForm(s.url+"/signin", url.Values{"name": {"admin"}, "password": {s.password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-koban_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly {
		t.Errorf("HTTPS sign-in: %d, cookies %v; want a Secure, HttpOnly __Host-koban_session", resp.StatusCode, resp.Cookies())
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over HTTPS")
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a
// pool that trusts it.
func selfSigned(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "koban test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
