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
	}
}
