// SPDX-License-Identifier: Apache-2.0

package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/koban-csirt/koban/internal/config"
)

// version is set at build time with -ldflags "-X …/internal/app.version=…".
var version = ""

// Version returns koban's version: the one set at build time, else the
// module version or VCS revision from the build information.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "dev-" + rev
}

// ErrUsage means the command line was wrong; the usage was printed and the
// process should exit with status 2.
var ErrUsage = errors.New("usage error")

// Env is the process environment a command runs in, so that tests can run
// commands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Terminal reports whether Stderr is a terminal (text logs, prompts).
	Terminal bool
}

// OSEnv is the environment of the running process.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Terminal: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, env Env) error
}

func commands() []command {
	return []command{
		{"serve", "run koban: web UI, API and (later) intake", runServe},
		{"import", "take in log files: EVTX, JSON, CSV, syslog, Zeek, Suricata (gzip too)", runImport},
		{"scan", "run Sigma rules over EVTX and JSON lines files, no server: a timeline of detections", runScan},
		{"rules", "Sigma rules: lint, import a pack, test fixtures, list", runRules},
		{"user", "manage users: add, set-password, set-role, disable, enable, list", runUser},
		{"migrate", "apply (up) or show (status) database migrations", runMigrate},
		{"config", "check the configuration, or dump it with secrets masked", runConfig},
		{"audit", "verify the audit trail's hash chain", runAudit},
		{"backup", "write a consistent snapshot of the data directory", runBackup},
		{"healthcheck", "ask a running koban whether it is healthy (exit 0 or 1)", runHealthcheck},
		{"version", "print the version", runVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "koban — a CSIRT in a box")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: koban <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'koban <command> -h' for a command's flags.")
}

// Main runs the koban command line. It returns ErrUsage (wrapped) for a bad
// command line, after printing the usage to env.Stderr.
func Main(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return ErrUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(env.Stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], env)
		}
	}
	fmt.Fprintf(env.Stderr, "koban: unknown command %q\n\n", args[0])
	usage(env.Stderr)
	return ErrUsage
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("koban "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: koban %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the arguments ("user add alice --role
// analyst") and returns the positional ones. -h prints the usage and yields
// errHelp.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, ErrUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// prepare parses a subcommand's command line, checks its positional
// arguments with check (which returns what is wrong, or ""), and loads the
// configuration. Callers return done(err) on error.
func prepare(fs *flag.FlagSet, cf *config.Flags, args []string, env Env, check func(pos []string) string) ([]string, config.Config, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return nil, config.Config{}, err
	}
	if msg := check(pos); msg != "" {
		return nil, config.Config{}, usageErr(fs, "%s", msg)
	}
	c, err := loadConfig(cf, env)
	return pos, c, err
}

// noArgs accepts no positional arguments.
func noArgs(pos []string) string {
	if len(pos) > 0 {
		return fmt.Sprintf("unexpected argument %q", pos[0])
	}
	return ""
}

// oneOf accepts exactly one positional argument among words.
func oneOf(words ...string) func([]string) string {
	return func(pos []string) string {
		if len(pos) == 1 && slices.Contains(words, pos[0]) {
			return ""
		}
		return "say " + strings.Join(words, " or ")
	}
}

// errHelp is returned when -h was asked for; Main's callers treat it as
// success.
var errHelp = errors.New("help shown")

// usageErr prints a message and the flag set's usage, and returns ErrUsage.
func usageErr(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return ErrUsage
}

// done turns errHelp into success for a command's return value.
func done(err error) error {
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// ExitCode maps Main's result to the process exit status, printing the
// error: 0 for success, 2 for a bad command line (usage already printed),
// 1 for anything else.
func ExitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	}
	fmt.Fprintf(stderr, "koban: %v\n", err)
	return 1
}
