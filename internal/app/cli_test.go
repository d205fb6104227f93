// SPDX-License-Identifier: Apache-2.0

package app

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // direct access to the state database, as an intruder would have
)

// program runs this test binary as the koban program and returns its output
// and exit status.
func program(t *testing.T, dataDir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "KOBAN_TEST_AS_PROGRAM=1", "KOBAN_DATA_DIR="+dataDir, "KOBAN_LOG_FORMAT=json")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestExitCodesAndUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("listen: nowhere\nlog:\n  level: loud\nsesion: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"version"}, 0, "koban ", ""},
		{"help", []string{"help"}, 0, "Commands:", ""},
		{"no command", nil, 2, "", "Usage: koban <command>"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--no-such-flag"}, 2, "", "flag provided but not defined: -no-such-flag"},
		{"flag help", []string{"serve", "-h"}, 0, "", "-listen"},
		{"extra argument", []string{"version", "now"}, 2, "", `unexpected argument "now"`},
		{"unknown subcommand", []string{"user", "delete", "x"}, 2, "", `unknown subcommand "delete"`},
		{"missing role", []string{"user", "add", "x"}, 2, "", "add needs --role"},
		{"migrate without verb", []string{"migrate"}, 2, "", "say up or status"},
		{"every config problem at once", []string{"config", "check", "--config", bad}, 1, "",
			"listen: \"nowhere\" is not host:port"},
		{"config problems include the unknown key", []string{"config", "check", "--config", bad}, 1, "", "field sesion not found"},
		{"config problems include the level", []string{"config", "check", "--config", bad}, 1, "", `log.level: "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := program(t, dir, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("koban %v: exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", tt.args, code, tt.code, tt.stdout, out, tt.stderr, errOut)
			}
		})
	}
}

func TestGracefulShutdownOnSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "KOBAN_TEST_AS_PROGRAM=1", "KOBAN_DATA_DIR="+dir, "KOBAN_LOG_FORMAT=json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lineCh := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := stdout.Read(buf)
			acc += string(buf[:n])
			if m := urlLine.FindStringSubmatch(acc); m != nil {
				lineCh <- m[1]
				return
			}
			if err != nil {
				close(lineCh)
				return
			}
		}
	}()
	var base string
	select {
	case base = <-lineCh:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("koban serve did not start: %s", errb.String())
	}
	b := newBrowser(t, base)
	if code, _, _ := b.get("/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Errorf("koban serve after SIGTERM: %v (want exit 0)\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("koban serve did not stop within 20s of SIGTERM")
	}
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"koban stopped"`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, errb.String())
		}
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}

func TestAuditVerifyCatchesDirectEdit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{{"user", "add", "alice", "--role", "analyst"}, {"user", "set-role", "alice", "viewer"}, {"user", "disable", "alice"}} {
		if _, errOut, err := run(t, dir, args...); err != nil {
			t.Fatalf("koban %v: %v\n%s", args, err, errOut)
		}
	}
	out, _, err := run(t, dir, "audit", "verify")
	if err != nil || !strings.Contains(out, "audit trail intact: 3 entries") {
		t.Fatalf("audit verify on an untouched store: %v\n%s", err, out)
	}

	// Someone with access to the database file edits row 2 (the role
	// change), getting past the append-only trigger first.
	db, err := sql.Open("sqlite", filepath.Join(dir, "koban.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`,
		`UPDATE audit_log SET after_state = replace(after_state, '"viewer"', '"admin"') WHERE seq = 2`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out, _, err = run(t, dir, "audit", "verify")
	if err == nil || !strings.Contains(out, "audit trail BROKEN at row 2") {
		t.Errorf("audit verify after editing row 2: err %v\n%s", err, out)
	}
	_, _, code := program(t, dir, "audit", "verify")
	if code != 1 {
		t.Errorf("audit verify on a broken chain exits %d, want 1", code)
	}
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, _, err := run(t, dir, "user", "add", "bob", "--role", "responder", "--display-name", "Bob 田中")
	if err != nil || !strings.Contains(out, "created user bob (responder)") || !pwLine.MatchString("    "+strings.TrimSpace(strings.SplitAfter(out, "sign-in): ")[1])) {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if _, _, err := runIn(t, dir, "my chosen passphrase\n", nil, "user", "add", "carol", "--role", "admin", "--password-stdin"); err != nil {
		t.Fatalf("user add --password-stdin: %v", err)
	}
	steps := []struct {
		args    []string
		wantOut string
		wantErr string
	}{
		{[]string{"user", "set-role", "bob", "analyst"}, "bob: role changed", ""},
		{[]string{"user", "disable", "bob"}, "bob: disabled", ""},
		{[]string{"user", "enable", "bob"}, "bob: enabled", ""},
		{[]string{"user", "set-password", "bob"}, "password of bob reset", ""},
		{[]string{"user", "list"}, "bob    analyst  active", ""},
		{[]string{"user", "set-role", "nobody", "admin"}, "", `no user called "nobody"`},
		{[]string{"user", "set-role", "bob", "king"}, "", "Choose one of the roles."},
		{[]string{"user", "add", "bob", "--role", "viewer"}, "", `The user name "bob" is already taken.`},
		{[]string{"user", "add", "Bad Name", "--role", "viewer"}, "", "may only contain lower-case letters"},
		{[]string{"user", "disable", "carol"}, "", "at least one active administrator"},
	}
	for _, s := range steps {
		out, errOut, err := run(t, dir, s.args...)
		if s.wantErr == "" && (err != nil || !strings.Contains(out, s.wantOut)) {
			t.Errorf("koban %v: %v\nstdout: %s\nstderr: %s", s.args, err, out, errOut)
		}
		if s.wantErr != "" && (err == nil || !strings.Contains(errOut+err.Error(), s.wantErr)) {
			t.Errorf("koban %v: got %v, stderr %q; want an error with %q", s.args, err, errOut, s.wantErr)
		}
	}
	if _, errOut, err := runIn(t, dir, "", map[string]string{"LANG": "ja_JP.UTF-8"}, "user", "add", "bob", "--role", "viewer"); err == nil ||
		!strings.Contains(errOut, "ユーザー名「bob」はすでに使われています。") {
		t.Errorf("user add under a Japanese locale: %v\n%s", err, errOut)
	}
	out, _, _ = run(t, dir, "audit", "verify")
	if !strings.Contains(out, "intact") {
		t.Errorf("audit after user commands: %s", out)
	}
}

func TestMigrateAndConfigCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, _, err := run(t, dir, "migrate", "status")
	if err != nil || !strings.Contains(out, "0001") || !strings.Contains(out, "pending") {
		t.Errorf("migrate status on a new store: %v\n%s", err, out)
	}
	migrations, err := filepath.Glob("../store/migrations/sqlite/*.sql")
	if err != nil || len(migrations) == 0 {
		t.Fatalf("no SQLite migrations found: %v", err)
	}
	if out, _, err := run(t, dir, "migrate", "up"); err != nil || !strings.Contains(out, fmt.Sprintf("sqlite: %d migration(s) applied", len(migrations))) {
		t.Errorf("migrate up: %v\n%s", err, out)
	}
	if out, _, err := run(t, dir, "migrate", "status"); err != nil || !strings.Contains(out, "applied") || strings.Contains(out, "pending") {
		t.Errorf("migrate status after up: %v\n%s", err, out)
	}
	out, _, err = runIn(t, dir, "", map[string]string{"KOBAN_DB": "postgres://koban:hunter2@db.example/koban", "KOBAN_LISTEN": "0.0.0.0:8080"}, "config", "dump")
	if err != nil || strings.Contains(out, "hunter2") || !strings.Contains(out, "db: '********'") || !strings.Contains(out, "listen: 0.0.0.0:8080") {
		t.Errorf("config dump: %v\n%s", err, out)
	}
	out, _, err = runIn(t, dir, "", map[string]string{"KOBAN_LISTEN": "0.0.0.0:8080"}, "config", "check")
	if err != nil || !strings.Contains(out, "configuration is valid") || !strings.Contains(out, "warning: listen:") {
		t.Errorf("config check with a risky setting: %v\n%s", err, out)
	}
}
