// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/koban-csirt/koban/internal/audit"
	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/store"
)

// loadConfig applies the file, environment and flags, printing every
// problem at once.
func loadConfig(f *config.Flags, env Env) (config.Config, error) {
	c, err := f.Load(env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return c, fmt.Errorf("invalid configuration")
	}
	return c, nil
}

// newLogger builds the operator log: text on a terminal, JSON otherwise,
// unless the configuration says which.
func newLogger(c config.Log, w io.Writer, terminal bool) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" || (c.Format == "auto" && terminal) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// sqlitePath is where the embedded state database lives.
func sqlitePath(c config.Config) string { return filepath.Join(c.DataDir, "koban.db") }

// openStore opens the configured state store and, when migrate is set,
// brings its schema up to date.
func openStore(ctx context.Context, c config.Config, migrate bool, log *slog.Logger) (*store.DB, error) {
	if c.DB == "" {
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	db, err := store.Open(ctx, store.Options{DSN: c.DB.Reveal(), SQLitePath: sqlitePath(c)})
	if err != nil {
		return nil, err
	}
	if migrate {
		n, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		if n > 0 && log != nil {
			log.Info("database migrated", "applied", n, "dialect", string(db.Dialect()))
		}
	}
	return db, nil
}

// authConfig is the auth section of the configuration.
func authConfig(c config.Config) auth.Config {
	return auth.Config{
		IdleTimeout:     c.Session.IdleTimeout.D(),
		AbsoluteTimeout: c.Session.AbsoluteTimeout.D(),
		Throttle: auth.ThrottlePolicy{
			MaxFailuresPerUser: c.SignIn.MaxFailuresPerUser,
			MaxFailuresPerIP:   c.SignIn.MaxFailuresPerIP,
			Window:             c.SignIn.Window.D(),
			Lockout:            c.SignIn.Lockout.D(),
			MaxLockout:         c.SignIn.MaxLockout.D(),
		},
	}
}

// trustedProxies parses the validated proxy list.
func trustedProxies(c config.Config) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.HTTP.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

// cliActor is the audit actor for changes made at the command line.
func cliActor(env Env) audit.Actor {
	name := env.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return audit.Actor{Name: "cli:" + strings.TrimSpace(name), Via: audit.ViaCLI}
}
