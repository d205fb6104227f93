// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
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
	c.validateIntake(add)
	if len(p) > 0 {
		return p
	}
	return nil
}

func (c Config) validateIntake(add func(string, ...any)) {
	addr := func(name, v string) {
		if v == "" {
			return
		}
		if _, port, err := net.SplitHostPort(v); err != nil {
			add("%s: %q is not host:port (for example 0.0.0.0:514)", name, v)
		} else if _, err := net.LookupPort("tcp", port); err != nil {
			add("%s: %q has no valid port", name, v)
		}
	}
	sl := c.Intake.Syslog
	addr("intake.syslog.udp", sl.UDP)
	addr("intake.syslog.tcp", sl.TCP)
	addr("intake.syslog.tls", sl.TLS)
	addr("intake.http.listen", c.Intake.HTTP.Listen)
	if sl.TLS != "" && (sl.CertFile == "" || sl.KeyFile == "") {
		add("intake.syslog.tls: needs intake.syslog.cert_file and intake.syslog.key_file")
	}
	for name, path := range map[string]string{"intake.syslog.cert_file": sl.CertFile, "intake.syslog.key_file": sl.KeyFile,
		"intake.syslog.client_ca_file": sl.ClientCAFile, "intake.http.cert_file": c.Intake.HTTP.CertFile, "intake.http.key_file": c.Intake.HTTP.KeyFile} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			add("%s: cannot read %q: %v", name, path, unwrapPath(err))
		}
	}
	if (c.Intake.HTTP.CertFile == "") != (c.Intake.HTTP.KeyFile == "") {
		add("intake.http: cert_file and key_file must be given together")
	}
	checkCIDRs := func(name string, list []string) {
		for _, cidr := range list {
			if _, err := netip.ParsePrefix(cidr); err != nil {
				if _, err2 := netip.ParseAddr(cidr); err2 != nil {
					add("%s: %q is not an address or CIDR", name, cidr)
				}
			}
		}
	}
	checkCIDRs("intake.syslog.allow", sl.Allow)
	if sl.MaxMessageBytes < 1024 || sl.MaxMessageBytes > 16<<20 {
		add("intake.syslog.max_message_bytes: %d must be between 1024 and 16777216", sl.MaxMessageBytes)
	}
	if c.Intake.HTTP.MaxBodyBytes < 1024 {
		add("intake.http.max_body_bytes: %d is below 1024", c.Intake.HTTP.MaxBodyBytes)
	}
	seen := map[string]bool{}
	tokens := map[string]string{}
	for i, s := range c.Intake.Sources {
		if t := s.Token.Reveal(); t != "" {
			if other, dup := tokens[t]; dup {
				add("intake.sources[%d] (%s): uses the same token as %s; give each source its own", i, s.Name, other)
			}
			tokens[t] = s.Name
		}
		where := fmt.Sprintf("intake.sources[%d]", i)
		switch {
		case strings.TrimSpace(s.Name) == "":
			add("%s: name must not be empty", where)
		case seen[s.Name]:
			add("%s: name %q is used twice", where, s.Name)
		}
		seen[s.Name] = true
		switch {
		case s.Token != "" && s.TokenFile != "":
			add("%s (%s): give token or token_file, not both", where, s.Name)
		case s.Token == "" && s.TokenFile == "":
			add("%s (%s): needs a token or token_file", where, s.Name)
		case s.Token != "" && len(s.Token.Reveal()) < 16:
			add("%s (%s): token is shorter than 16 characters", where, s.Name)
		case s.TokenFile != "":
			if _, err := os.Stat(s.TokenFile); err != nil {
				add("%s (%s): cannot read token_file %q: %v", where, s.Name, s.TokenFile, unwrapPath(err))
			}
		}
		checkCIDRs(where+".allow", s.Allow)
	}
	if c.Intake.HTTP.Listen != "" && len(c.Intake.Sources) == 0 {
		add("intake.http.listen: no intake.sources are configured, so no sender could authenticate")
	}
	j := c.Journal
	if j.SegmentBytes < 1<<20 {
		add("journal.segment_bytes: %d is below 1 MiB", j.SegmentBytes)
	}
	if j.MaxBytes < 4*j.SegmentBytes {
		add("journal.max_bytes: %d must be at least four segments (%d)", j.MaxBytes, 4*j.SegmentBytes)
	}
	if j.QueueEvents < 1000 {
		add("journal.queue_events: %d is below 1000", j.QueueEvents)
	}
	if c.Events.MaxAge.D() < 24*time.Hour {
		add("events.max_age: %s is shorter than one day", c.Events.MaxAge)
	}
	if c.Events.MaxBytes < 64<<20 {
		add("events.max_bytes: %d is below 64 MiB", c.Events.MaxBytes)
	}
	if c.Events.MemoryBytes < 64<<20 {
		add("events.memory_bytes: %d is below 64 MiB", c.Events.MemoryBytes)
	}
	for _, st := range c.Detect.Statuses {
		if !slices.Contains([]string{"stable", "test", "experimental", "deprecated", "unsupported"}, st) {
			add("detection.statuses: %q is not a rule status (stable, test, experimental, deprecated, unsupported)", st)
		}
	}
	if !slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, c.Detect.MinLevel) {
		add("detection.min_level: %q is not a level (informational, low, medium, high, critical)", c.Detect.MinLevel)
	}
	if c.Alerts.GroupWindow.D() < time.Minute || c.Alerts.GroupWindow.D() > 30*24*time.Hour {
		add("alerts.group_window: %s is not between 1 minute and 30 days", c.Alerts.GroupWindow)
	}
	if d := c.Incidents.PPCPreliminaryDays; d < 3 || d > 5 {
		add("incidents.ppc_preliminary_days: %d is not between 3 and 5 (the PPC guidance: about 3 to 5 days)", d)
	}
	if m := c.Incidents.EvidenceMaxBytes; m < 1<<20 || m > 1<<40 {
		add("incidents.evidence_max_bytes: %d is not between 1 MiB (1048576) and 1 TiB", m)
	}
	if r := c.Incidents.EvidenceRetention.D(); r < 24*time.Hour {
		add("incidents.evidence_retention: %s is shorter than one day", c.Incidents.EvidenceRetention)
	}
	seenSLA := map[string]bool{}
	for i, s := range c.Incidents.SLA {
		switch s.Severity {
		case "low", "medium", "high", "critical":
		default:
			add("incidents.sla[%d].severity: %q must be low, medium, high or critical", i, s.Severity)
		}
		if seenSLA[s.Severity] {
			add("incidents.sla[%d].severity: %q is given twice", i, s.Severity)
		}
		seenSLA[s.Severity] = true
		if s.Acknowledge.D() <= 0 || s.Contain.D() <= 0 {
			add("incidents.sla[%d]: acknowledge and contain must both be positive", i)
		} else if s.Contain.D() < s.Acknowledge.D() {
			add("incidents.sla[%d]: contain (%s) is sooner than acknowledge (%s)", i, s.Contain, s.Acknowledge)
		}
	}
	if c.Alerts.MaxEvents < 1 || c.Alerts.MaxEvents > 10000 {
		add("alerts.max_events: %d is not between 1 and 10000", c.Alerts.MaxEvents)
	}
	if _, err := prefixList(c.Notify.Allow); err != nil {
		add("notify.allow: %v", err)
	}
	seenCh := map[string]bool{}
	for i, ch := range c.Notify.Channels {
		where := fmt.Sprintf("notify.channels[%d] (%s)", i, ch.Name)
		switch {
		case ch.Name == "":
			add("notify.channels[%d]: a channel needs a name", i)
		case seenCh[ch.Name]:
			add("%s: the name is used twice", where)
		}
		seenCh[ch.Name] = true
		switch ch.Kind {
		case "email":
			if len(ch.To) == 0 {
				add("%s: an email channel needs at least one address in to", where)
			}
			if c.Notify.SMTP.Host == "" {
				add("%s: an email channel needs notify.smtp.host", where)
			}
		case "slack", "teams", "json":
			if ch.URL == "" {
				add("%s: a %s channel needs its webhook url", where, ch.Kind)
			}
		default:
			add("%s: kind %q is not email, slack, teams or json", where, ch.Kind)
		}
		if ch.MinLevel != "" && !slices.Contains([]string{"informational", "low", "medium", "high", "critical"}, ch.MinLevel) {
			add("%s: min_level %q is not a level (informational, low, medium, high, critical)", where, ch.MinLevel)
		}
		if ch.RatePerHour < 0 {
			add("%s: rate_per_hour must not be negative", where)
		}
		if ch.Lang != "" && ch.Lang != "en" && ch.Lang != "ja" {
			add("%s: lang %q is not en or ja", where, ch.Lang)
		}
	}
	seenPH := map[string]bool{}
	for i, p := range c.Detect.Placeholders {
		switch {
		case p.Name == "" || strings.ContainsAny(p.Name, "% "):
			add("detection.placeholders[%d]: the name %q must be given without %% signs or spaces", i, p.Name)
		case seenPH[p.Name]:
			add("detection.placeholders[%d]: %q is defined twice", i, p.Name)
		case len(p.Values) == 0:
			add("detection.placeholders[%d]: %q has no values", i, p.Name)
		}
		seenPH[p.Name] = true
	}
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

// prefixList parses addresses and CIDRs.
func prefixList(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
