// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func load(t *testing.T, args []string, getenv func(string) string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	f := AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	return f.Load(getenv)
}

func TestGoodFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.good.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			if _, err := load(t, []string{"--config", file}, noEnv); err != nil {
				t.Errorf("Load(%s): %v", file, err)
			}
		})
	}
}

func TestFullFile(t *testing.T) {
	t.Parallel()
	c, err := load(t, []string{"--config", "testdata/full.good.yaml"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.DataDir = "/var/lib/koban"
	want.Listen = "0.0.0.0:8443"
	want.DB = "postgres://koban:s3cret@db.example.com:5432/koban?sslmode=verify-full"
	want.BaseURL = "https://koban.example.com"
	want.Log = Log{Level: "debug", Format: "json"}
	want.Session = Session{IdleTimeout: Duration(30 * time.Minute), AbsoluteTimeout: Duration(8 * time.Hour)}
	want.SignIn = SignIn{MaxFailuresPerUser: 3, MaxFailuresPerIP: 50, Window: Duration(10 * time.Minute), Lockout: Duration(2 * time.Minute), MaxLockout: Duration(time.Hour)}
	want.HTTP = HTTP{MaxBodyBytes: 2 << 20, TrustedProxies: []string{"10.0.0.0/8", "192.0.2.10"}, ShutdownGrace: Duration(5 * time.Second)}
	want.Metrics.Token = "scrape-me"
	want.Incidents = Incidents{PPCPreliminaryDays: 5, EvidenceMaxBytes: 100 << 20, EvidenceRetention: Duration(87600 * time.Hour),
		AnonymousReports: true, SLA: []IncidentSLA{{Severity: "critical", Acknowledge: Duration(30 * time.Minute), Contain: Duration(4 * time.Hour)}}}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load(full.good.yaml) mismatch (-want +got):\n%s", diff)
	}
}

func TestBadFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			wantB, err := os.ReadFile(strings.TrimSuffix(file, ".yaml") + ".want")
			if err != nil {
				t.Fatal(err)
			}
			_, err = load(t, []string{"--config", file}, noEnv)
			var p Problems
			if !errors.As(err, &p) {
				t.Fatalf("Load(%s): got %v, want Problems", file, err)
			}
			wants := strings.Split(strings.TrimSpace(string(wantB)), "\n")
			if len(p) != len(wants) {
				t.Errorf("Load(%s): got %d problems, want %d:\n%s", file, len(p), len(wants), err)
			}
			for _, want := range wants {
				found := false
				for _, got := range p {
					if strings.Contains(filepath.ToSlash(got), want) {
						found = true
					}
				}
				if !found {
					t.Errorf("Load(%s): no problem contains %q; got:\n%s", file, want, err)
				}
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "db")
	if err := os.WriteFile(secretFile, []byte("postgres://from-file/koban\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *Config)
	}{
		{"defaults", nil, nil, func(*Config) {}},
		{"file", []string{"--config", "testdata/minimal.good.yaml"}, nil, func(c *Config) { c.Listen = "127.0.0.1:9090" }},
		{"KOBAN_CONFIG names the file", nil, map[string]string{"KOBAN_CONFIG": "testdata/minimal.good.yaml"}, func(c *Config) { c.Listen = "127.0.0.1:9090" }},
		{"env beats file", []string{"--config", "testdata/minimal.good.yaml"}, map[string]string{"KOBAN_LISTEN": "127.0.0.1:7070"}, func(c *Config) { c.Listen = "127.0.0.1:7070" }},
		{"flag beats env", []string{"--listen", "127.0.0.1:6060"}, map[string]string{"KOBAN_LISTEN": "127.0.0.1:7070"}, func(c *Config) { c.Listen = "127.0.0.1:6060" }},
		{"nested env and flag", []string{"--session.absolute-timeout", "24h"}, map[string]string{"KOBAN_SESSION_IDLE_TIMEOUT": "2h"}, func(c *Config) {
			c.Session.IdleTimeout = Duration(2 * time.Hour)
			c.Session.AbsoluteTimeout = Duration(24 * time.Hour)
		}},
		{"secret from _FILE", nil, map[string]string{"KOBAN_DB_FILE": secretFile}, func(c *Config) { c.DB = "postgres://from-file/koban" }},
		{"list from env", nil, map[string]string{"KOBAN_HTTP_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}, func(c *Config) { c.HTTP.TrustedProxies = []string{"10.0.0.0/8", "127.0.0.1"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := load(t, tt.args, envOf(tt.env))
			if err != nil {
				t.Fatalf("Load(%q, %v): %v", tt.args, tt.env, err)
			}
			want := Default()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load(%q, %v) mismatch (-want +got):\n%s", tt.args, tt.env, diff)
			}
		})
	}
}

func TestEnvAndFlagErrorsReportedTogether(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"--signin.window", "soon", "--config", "testdata/missing.yaml"},
		envOf(map[string]string{"KOBAN_HTTP_MAX_BODY_BYTES": "big"}))
	var p Problems
	if !errors.As(err, &p) {
		t.Fatalf("Load: got %v, want Problems", err)
	}
	for _, want := range []string{"cannot read configuration file", "KOBAN_HTTP_MAX_BODY_BYTES: \"big\" is not a whole number", "--signin.window: \"soon\" is not a duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load: %q missing from:\n%v", want, err)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	c := Default()
	c.DB = "postgres://koban:hunter2@db/koban"
	c.Metrics.Token = "hunter3"
	dump, err := Dump(c)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "db", c.DB, "config", c)
	for name, out := range map[string]string{
		"Dump": string(dump), "slog": logged.String(),
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c), "Sprint": fmt.Sprint(c.DB),
	} {
		if strings.Contains(out, "hunter") {
			t.Errorf("%s prints a secret: %s", name, out)
		}
	}
	if !strings.Contains(string(dump), "db: '********'") {
		t.Errorf("Dump: db not masked:\n%s", dump)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	c := Default()
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings(default) = %q, want none", w)
	}
	c.Listen = "0.0.0.0:8080"
	if w := c.Warnings(); len(w) != 1 {
		t.Errorf("Warnings(plain HTTP on all addresses) = %q, want one", w)
	}
	c.BaseURL = "https://koban.example.com"
	if w := c.Warnings(); len(w) != 0 {
		t.Errorf("Warnings(behind HTTPS proxy) = %q, want none", w)
	}
}
