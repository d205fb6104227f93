// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
)

// Validate checks every setting and returns all problems as Problems, or nil.
func (c Config) Validate() error {
	var p Problems
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if strings.TrimSpace(c.DataDir) == "" {
		add("data_dir: must not be empty")
	}
	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen: %q is not host:port (for example 127.0.0.1:8080)", c.Listen)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		add("listen: %q has no valid port", c.Listen)
	} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		add("listen: host %q must be an IP address, localhost or empty (all addresses)", host)
	}
	if db := c.DB.Reveal(); db != "" && !IsPostgres(db) {
		add("db: must be empty (embedded SQLite) or a postgres:// or postgresql:// URL")
	} else if db != "" {
		if _, err := url.Parse(db); err != nil {
			add("db: not a valid URL") // the URL may hold a password: never echo it
		}
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("base_url: %q must be an absolute http:// or https:// URL", c.BaseURL)
		}
	}
	switch {
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		add("tls: cert_file and key_file must be given together")
	case c.TLS.CertFile != "":
		for name, path := range map[string]string{"tls.cert_file": c.TLS.CertFile, "tls.key_file": c.TLS.KeyFile} {
			if _, err := os.Stat(path); err != nil {
				add("%s: cannot read %q: %v", name, path, unwrapPath(err))
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level: %q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		add("log.format: %q must be auto, text or json", c.Log.Format)
	}
	if c.Session.IdleTimeout.D() < time.Minute {
		add("session.idle_timeout: %s is shorter than one minute", c.Session.IdleTimeout)
	}
	if c.Session.AbsoluteTimeout.D() < c.Session.IdleTimeout.D() {
		add("session.absolute_timeout: %s is shorter than session.idle_timeout (%s)", c.Session.AbsoluteTimeout, c.Session.IdleTimeout)
	}
	if c.SignIn.MaxFailuresPerUser < 1 {
		add("signin.max_failures_per_user: must be at least 1")
	}
	if c.SignIn.MaxFailuresPerIP < 1 {
		add("signin.max_failures_per_ip: must be at least 1")
	}
	if c.SignIn.Window.D() <= 0 {
		add("signin.window: must be positive")
	}
	if c.SignIn.Lockout.D() <= 0 {
		add("signin.lockout: must be positive")
	}
	if c.SignIn.MaxLockout.D() < c.SignIn.Lockout.D() {
		add("signin.max_lockout: %s is shorter than signin.lockout (%s)", c.SignIn.MaxLockout, c.SignIn.Lockout)
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		add("http.max_body_bytes: %d is below 1024", c.HTTP.MaxBodyBytes)
	}
	for _, cidr := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(cidr); err != nil {
			if _, err2 := netip.ParseAddr(cidr); err2 != nil {
				add("http.trusted_proxies: %q is not an address or CIDR", cidr)
			}
		}
	}
	if c.HTTP.ShutdownGrace.D() < 0 {
		add("http.shutdown_grace: must not be negative")
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

// Warnings lists settings that work but are risky.
func (c Config) Warnings() []string {
	var w []string
	host, _, err := net.SplitHostPort(c.Listen)
	if err == nil && !isLoopback(host) && c.TLS.CertFile == "" && !strings.HasPrefix(c.BaseURL, "https://") {
		w = append(w, "listen: koban is reachable from the network over plain HTTP; set tls.cert_file/tls.key_file or put it behind an HTTPS proxy and set base_url")
	}
	return w
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
