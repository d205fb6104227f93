// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/koban-csirt/koban/internal/alert"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/i18n"
	"github.com/koban-csirt/koban/internal/web"
)

// sweepEvery is how often expired sessions and stale throttles are removed.
const sweepEvery = 10 * time.Minute

func runServe(ctx context.Context, args []string, env Env) error {
	fs := newFlags("serve", "serve [flags]", env)
	cf := config.AddFlags(fs)
	_, c, err := prepare(fs, cf, args, env, noArgs)
	if err != nil {
		return done(err)
	}
	log := newLogger(c.Log, env.Stderr, env.Terminal)
	for _, w := range c.Warnings() {
		log.Warn("risky configuration", "problem", w)
	}
	return serve(ctx, c, env, log)
}

func serve(ctx context.Context, c config.Config, env Env, log *slog.Logger) error {
	db, err := openStore(ctx, c, true, log)
	if err != nil {
		return err
	}
	defer db.Close()

	cat, err := i18n.Load()
	if err != nil {
		return err
	}
	authSvc, err := auth.New(db, authConfig(c), nil, log.With("component", "auth"))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "koban_build_info", Help: "koban's version."}, []string{"version"})
	buildInfo.WithLabelValues(Version()).Set(1)
	reg.MustRegister(buildInfo)

	pl, err := openPipeline(c, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := pl.close(); err != nil {
			log.Error("closing the journal and event store", "error", err)
		}
	}()

	reg.MustRegister(newPipelineCollector(pl))

	alerts := alert.New(db, alert.Options{GroupWindow: c.Alerts.GroupWindow.D(), MaxEvents: c.Alerts.MaxEvents, Log: log.With("component", "alerts")})
	// Rules turned off in the web UI stay off from the first compile on.
	rules := newRuleService(c, db, log.With("component", "rules"))
	dc, err := rules.detectConfig(ctx)
	if err != nil {
		return err
	}
	det, router, err := newDetection(ctx, dc, pl.journal, alerts, cat, c.BaseURL, log.With("component", "detect"))
	if err != nil {
		return err
	}
	rules.reload = det.reloadRules

	inc, err := newIncidents(c, db, cat, log)
	if err != nil {
		return err
	}

	srv, err := web.New(web.Options{
		Events: pl.events, Sources: pl.registry.Snapshot, Alerts: alerts, Rules: rules,
		Incidents: inc.svc, Evidence: inc.locker, Comms: inc.comms, ReportDesk: inc.desk, ClockPolicy: inc.policy, Tx: db.Tx,
		Auth: authSvc, Audit: db, Catalog: cat, Health: db.Ping, Log: log.With("component", "web"),
		Registry: reg, Version: Version(), StoreKind: string(db.Dialect()), BaseURL: c.BaseURL,
		MaxBodyBytes: c.HTTP.MaxBodyBytes, TrustedProxies: trustedProxies(c), MetricsToken: c.Metrics.Token.Reveal(),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Listen, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if c.TLS.CertFile != "" {
		scheme = "https"
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	url := c.BaseURL
	if url == "" {
		url = scheme + "://" + displayAddr(ln.Addr().String())
	}

	pw, created, err := authSvc.EnsureAdmin(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	// Messages for the person who started koban go to the terminal, not
	// the log: the first password must never reach a log file.
	fmt.Fprintf(env.Stdout, "koban %s is running at %s/\n", Version(), strings.TrimSuffix(url, "/"))
	if created {
		fmt.Fprintf(env.Stdout, "\nFirst start: sign in as \"admin\" with this one-time password, then choose your own:\n\n    %s\n\n", pw)
		fmt.Fprintf(env.Stdout, "初回起動: ユーザー名 \"admin\" と上のワンタイムパスワードでサインインし、新しいパスワードを設定してください。\n\n")
	}
	// Start-up (templates, migrations, rules) leaves tens of megabytes of
	// garbage; hand it back now rather than when the scavenger gets to
	// it, so that an idle koban stays small.
	debug.FreeOSMemory()
	log.Info("koban started", "listen", ln.Addr().String(), "store", string(db.Dialect()), "version", Version())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if c.TLS.CertFile != "" {
			err = hs.ServeTLS(ln, c.TLS.CertFile, c.TLS.KeyFile)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down", "grace", c.HTTP.ShutdownGrace.String())
		sctx, cancel := context.WithTimeout(context.Background(), c.HTTP.ShutdownGrace.D())
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	})
	g.Go(func() error { return pl.run(gctx, c.HTTP.ShutdownGrace.D()) })
	g.Go(func() error { return det.run(gctx) })
	if c.Incidents.Reminders && c.Notify.SMTP.Host != "" {
		send, err := newReminderMailer(c.Notify.SMTP)
		if err != nil {
			return err
		}
		g.Go(func() error {
			return runReminders(gctx, reminderDeps{Incidents: inc.svc, Users: db.Users, Catalog: cat, BaseURL: c.BaseURL},
				inc.policy, send, reminderEvery, time.Now, log.With("component", "reminders"))
		})
	}
	g.Go(func() error {
		// SIGHUP reloads the rules (after "koban rules import", for one).
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				// Through the rule service, which adds the rules turned
				// off in the web UI and refreshes its listing.
				if err := rules.Reload(gctx); err != nil {
					log.Error("rules not reloaded", "error", err)
				}
			}
		}
	})
	if router != nil {
		g.Go(func() error {
			err := router.Run(gctx)
			fctx, cancel := context.WithTimeout(context.Background(), c.HTTP.ShutdownGrace.D())
			defer cancel()
			if ferr := router.Flush(fctx); ferr != nil {
				log.Warn("notifications not flushed at shutdown", "error", ferr)
			}
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		})
	}
	g.Go(func() error {
		t := time.NewTicker(sweepEvery)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
				if err := authSvc.Sweep(gctx); err != nil && gctx.Err() == nil {
					log.Warn("sweep failed", "error", err)
				}
			}
		}
	})
	err = g.Wait()
	log.Info("koban stopped")
	return err
}

// displayAddr turns a listen address into one a browser can open: all
// addresses (0.0.0.0, ::) become 127.0.0.1 for the local hint.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
