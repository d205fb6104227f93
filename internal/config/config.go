// SPDX-License-Identifier: Apache-2.0

package config

import (
	"time"
)

// Config is the whole configuration of a koban node.
type Config struct {
	// DataDir holds the embedded state database, backups and, in later
	// versions, the journal and event store.
	DataDir string `yaml:"data_dir" help:"directory for koban's data"`
	// Listen is the address of the web UI and API.
	Listen string `yaml:"listen" help:"address of the web UI and API (host:port)"`
	// DB is empty for the embedded SQLite store, or a postgres:// URL.
	DB Secret `yaml:"db" help:"state store: empty for embedded SQLite, or postgres://user:pass@host/db"`
	// BaseURL is the address users type, when koban sits behind a proxy or
	// has a name; it decides whether cookies are marked Secure.
	BaseURL string  `yaml:"base_url" help:"external URL of koban, such as https://koban.example.com"`
	TLS     TLS     `yaml:"tls"`
	Log     Log     `yaml:"log"`
	Session Session `yaml:"session"`
	SignIn  SignIn  `yaml:"signin"`
	HTTP    HTTP    `yaml:"http"`
	Metrics Metrics `yaml:"metrics"`
	Intake  Intake  `yaml:"intake"`
	Journal Journal `yaml:"journal"`
	Events  Events  `yaml:"events"`
	Detect  Detect  `yaml:"detection"`
	Alerts  Alerts  `yaml:"alerts"`
	Notify  Notify  `yaml:"notify"`
	// Incidents configures incident handling: the clocks, the evidence
	// locker and the employee report desk.
	Incidents Incidents `yaml:"incidents"`
}

// Incidents configures incident handling.
type Incidents struct {
	// PPCPreliminaryDays is the PPC preliminary report's (速報) period in
	// days after the day of awareness; the PPC guidance says about 3 to 5.
	PPCPreliminaryDays int `yaml:"ppc_preliminary_days" help:"days after awareness for the PPC preliminary report (速報), 3 to 5"`
	// SLA overrides the internal targets per severity. YAML only.
	SLA []IncidentSLA `yaml:"sla"`
	// EvidenceMaxBytes bounds one evidence upload.
	EvidenceMaxBytes int64 `yaml:"evidence_max_bytes" help:"largest evidence file accepted, in bytes"`
	// EvidenceRetention is how long evidence is kept by default.
	EvidenceRetention Duration `yaml:"evidence_retention" help:"how long evidence is kept after upload unless changed (such as 43800h for five years)"`
	// AnonymousReports lets people report without signing in, at
	// /report/anonymous, rate-limited per address.
	AnonymousReports bool `yaml:"anonymous_reports" help:"let anyone report an incident without signing in (rate-limited)"`
	// Reminders e-mails assignees before and at each clock's deadline,
	// through notify.smtp.
	Reminders bool `yaml:"reminders" help:"e-mail reminders before and at incident deadlines (needs notify.smtp)"`
}

// IncidentSLA is the internal target of one severity.
type IncidentSLA struct {
	Severity    string   `yaml:"severity"`
	Acknowledge Duration `yaml:"acknowledge"`
	Contain     Duration `yaml:"contain"`
}

// Alerts configures how detections become alerts.
type Alerts struct {
	GroupWindow Duration `yaml:"group_window" help:"a detection joins the open alert of its rule, host and user seen within this long"`
	MaxEvents   int      `yaml:"max_events" help:"events linked to one alert at most (its count keeps growing)"`
}

// Notify configures where alerts are sent: channels (e-mail, Slack,
// Microsoft Teams, any JSON webhook), each with a minimum level, a rate
// limit and a digest.
type Notify struct {
	AllowInternal bool       `yaml:"allow_internal" help:"let webhooks and the mail server be on private, loopback or link-local addresses"`
	Allow         []string   `yaml:"allow" help:"internal addresses or CIDRs webhooks and the mail server may use"`
	SMTP          NotifySMTP `yaml:"smtp"`
	// Channels are YAML only.
	Channels []Channel `yaml:"channels"`
}

// NotifySMTP is the mail server e-mail channels send through.
type NotifySMTP struct {
	Host     string   `yaml:"host" help:"mail server for alert e-mail (empty: no e-mail)"`
	Port     int      `yaml:"port" help:"mail server port (default 587, or 465 for tls)"`
	TLS      string   `yaml:"tls" help:"starttls (default), tls, or none (loopback only)"`
	Username string   `yaml:"username" help:"mail server user name"`
	Password Secret   `yaml:"password" help:"mail server password"`
	From     string   `yaml:"from" help:"sender address of alert e-mail"`
	Timeout  Duration `yaml:"timeout" help:"how long one e-mail may take to send (default 30s)"`
}

// Channel is one destination of alert notifications.
type Channel struct {
	Name string `yaml:"name"`
	// Kind is email, slack, teams or json.
	Kind string   `yaml:"kind"`
	To   []string `yaml:"to"`  // email
	URL  Secret   `yaml:"url"` // webhooks: carries a token
	// Secret signs json webhooks (X-Koban-Signature).
	Secret      Secret   `yaml:"secret"`
	MinLevel    string   `yaml:"min_level"`
	RatePerHour int      `yaml:"rate_per_hour"`
	Digest      Duration `yaml:"digest"`
	Lang        string   `yaml:"lang"`
	Timeout     Duration `yaml:"timeout"`
}

// Detect configures detection: which Sigma rules load, field mappings,
// placeholders and indicators.
type Detect struct {
	// Rules are extra rule files, directories or zips; the rules directory
	// in DataDir (where "koban rules import" puts packs) always loads.
	Rules []string `yaml:"rules" help:"extra Sigma rule files, directories or zips to load"`
	// OwnRules loads koban's own SME rule pack.
	OwnRules bool `yaml:"own_rules" help:"load koban's own rule pack (brute force, new admins, cleared logs …)"`
	// Statuses lists the rule statuses that load.
	Statuses []string `yaml:"statuses" help:"rule statuses to load: stable, test, experimental, deprecated, unsupported"`
	// MinLevel is the lowest level that loads; informational rules tag
	// events rather than raise alerts.
	MinLevel string `yaml:"min_level" help:"lowest rule level to load: informational, low, medium, high or critical"`
	// DisabledRules and DisabledTags leave rules out by id or tag.
	DisabledRules []string `yaml:"disabled_rules" help:"ids of rules not to load"`
	DisabledTags  []string `yaml:"disabled_tags" help:"rules with any of these tags (such as attack.t1059) are not loaded"`
	// DisabledLogSources leave out rules by logsource pattern.
	DisabledLogSources []string `yaml:"disabled_logsources" help:"rules for these logsources (product/category/service, such as windows/ps_script) are not loaded"`
	// Mapping is a field mapping file (koban's form or SigmaHQ's thor.yml).
	Mapping string `yaml:"mapping" help:"field mapping file: which event fields a rule field also stands for"`
	// Indicators is a file of indicators of compromise, one per line.
	Indicators string `yaml:"indicators" help:"file of indicators (IPs, domains, URLs, hashes) matched on every event"`
	// Placeholders give the values of %name% placeholders. YAML only.
	Placeholders []Placeholder `yaml:"placeholders"`
}

// Placeholder is the value list of one Sigma placeholder, such as
// Administrators.
type Placeholder struct {
	Name   string   `yaml:"name"`
	Values []string `yaml:"values"`
}

// Intake configures the listeners that take in logs. An empty address turns
// a listener off.
type Intake struct {
	Syslog Syslog     `yaml:"syslog"`
	HTTP   IntakeHTTP `yaml:"http"`
	// Sources are the senders allowed to use the HTTP and Elasticsearch
	// endpoints, each with its own token. YAML only.
	Sources []Source `yaml:"sources"`
}

// Syslog configures the syslog listeners.
type Syslog struct {
	UDP             string   `yaml:"udp" help:"address for syslog over UDP, such as 0.0.0.0:514 (empty: off)"`
	TCP             string   `yaml:"tcp" help:"address for syslog over TCP, newline or octet-counted framing (empty: off)"`
	TLS             string   `yaml:"tls" help:"address for syslog over TLS, such as 0.0.0.0:6514 (empty: off)"`
	CertFile        string   `yaml:"cert_file" help:"PEM certificate chain for syslog over TLS"`
	KeyFile         string   `yaml:"key_file" help:"PEM private key for syslog over TLS"`
	ClientCAFile    string   `yaml:"client_ca_file" help:"PEM CA bundle: when set, TLS senders must present a certificate it signed"`
	Allow           []string `yaml:"allow" help:"addresses or CIDRs allowed to send syslog (empty: loopback only)"`
	MaxMessageBytes int      `yaml:"max_message_bytes" help:"longest syslog message kept; longer ones are cut and flagged"`
}

// IntakeHTTP configures the HTTP listener for NDJSON and Elasticsearch
// _bulk intake.
type IntakeHTTP struct {
	Listen       string `yaml:"listen" help:"address for HTTP intake and the Elasticsearch-compatible API, such as 0.0.0.0:9200 (empty: off)"`
	CertFile     string `yaml:"cert_file" help:"PEM certificate chain for HTTPS intake"`
	KeyFile      string `yaml:"key_file" help:"PEM private key for HTTPS intake"`
	MaxBodyBytes int64  `yaml:"max_body_bytes" help:"largest intake request body, after gzip is undone, in bytes"`
}

// Source is one sender of the HTTP intake.
type Source struct {
	Name      string   `yaml:"name"`
	Token     Secret   `yaml:"token"`
	TokenFile string   `yaml:"token_file"`
	Allow     []string `yaml:"allow"`
}

// Journal configures the durable journal between intake and the pipeline.
type Journal struct {
	MaxBytes     int64 `yaml:"max_bytes" help:"disk space the journal may use; older segments that every reader has passed are removed first"`
	SegmentBytes int64 `yaml:"segment_bytes" help:"size of one journal segment file"`
	QueueEvents  int   `yaml:"queue_events" help:"events waiting to be written before senders are pushed back"`
}

// Events configures the event store.
type Events struct {
	MaxAge      Duration `yaml:"max_age" help:"events older than this are removed, a whole day at a time"`
	MaxBytes    int64    `yaml:"max_bytes" help:"disk space the event store may use; the oldest days are removed first"`
	MemoryBytes int64    `yaml:"memory_bytes" help:"memory the event store may use for queries and loading"`
}

// TLS makes koban serve HTTPS itself.
type TLS struct {
	CertFile string `yaml:"cert_file" help:"PEM certificate chain for HTTPS"`
	KeyFile  string `yaml:"key_file" help:"PEM private key for HTTPS"`
}

// Log configures the operator log.
type Log struct {
	Level  string `yaml:"level" help:"debug, info, warn or error"`
	Format string `yaml:"format" help:"auto (text on a terminal, JSON otherwise), text or json"`
}

// Session configures browser sessions.
type Session struct {
	IdleTimeout     Duration `yaml:"idle_timeout" help:"sign a browser out after this long without a request"`
	AbsoluteTimeout Duration `yaml:"absolute_timeout" help:"sign a browser out this long after sign-in, whatever it does"`
}

// SignIn configures sign-in throttling.
type SignIn struct {
	MaxFailuresPerUser int      `yaml:"max_failures_per_user" help:"failed sign-ins for one account within the window before it is locked for a while"`
	MaxFailuresPerIP   int      `yaml:"max_failures_per_ip" help:"failed sign-ins from one address within the window before it is locked for a while"`
	Window             Duration `yaml:"window" help:"period over which failed sign-ins are counted"`
	Lockout            Duration `yaml:"lockout" help:"first lock period; it doubles with each further failure"`
	MaxLockout         Duration `yaml:"max_lockout" help:"longest lock period"`
}

// HTTP configures the web server.
type HTTP struct {
	MaxBodyBytes   int64    `yaml:"max_body_bytes" help:"largest request body accepted by forms and the API, in bytes"`
	TrustedProxies []string `yaml:"trusted_proxies" help:"CIDRs of reverse proxies whose X-Forwarded-For is believed"`
	ShutdownGrace  Duration `yaml:"shutdown_grace" help:"time given to requests in flight at shutdown"`
}

// Metrics configures /metrics.
type Metrics struct {
	// Token, when set, lets a scraper read /metrics with this bearer token
	// from any address. Clients on loopback may always read it.
	Token Secret `yaml:"token" help:"bearer token for /metrics from non-loopback scrapers"`
}

// Default returns the configuration of a fresh install: embedded store in
// ./koban-data, web UI on 127.0.0.1:8080.
func Default() Config {
	return Config{
		DataDir: "koban-data",
		Listen:  "127.0.0.1:8080",
		Log:     Log{Level: "info", Format: "auto"},
		Session: Session{
			IdleTimeout:     Duration(time.Hour),
			AbsoluteTimeout: Duration(12 * time.Hour),
		},
		SignIn: SignIn{
			MaxFailuresPerUser: 5,
			MaxFailuresPerIP:   20,
			Window:             Duration(15 * time.Minute),
			Lockout:            Duration(time.Minute),
			MaxLockout:         Duration(30 * time.Minute),
		},
		HTTP: HTTP{
			MaxBodyBytes:  1 << 20,
			ShutdownGrace: Duration(15 * time.Second),
		},
		Intake: Intake{
			Syslog: Syslog{MaxMessageBytes: 64 << 10},
			HTTP:   IntakeHTTP{MaxBodyBytes: 64 << 20},
		},
		Journal: Journal{MaxBytes: 4 << 30, SegmentBytes: 64 << 20, QueueEvents: 100_000},
		Events:  Events{MaxAge: Duration(90 * 24 * time.Hour), MaxBytes: 50 << 30, MemoryBytes: 1 << 30},
		Detect:  Detect{OwnRules: true, Statuses: []string{"stable", "test", "experimental"}, MinLevel: "low"},
		Alerts:  Alerts{GroupWindow: Duration(time.Hour), MaxEvents: 100},
		Incidents: Incidents{PPCPreliminaryDays: 3, EvidenceMaxBytes: 1 << 30,
			EvidenceRetention: Duration(5 * 365 * 24 * time.Hour), Reminders: true},
	}
}
