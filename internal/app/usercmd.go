// SPDX-License-Identifier: Apache-2.0

package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/koban-csirt/koban/internal/auth"
	"github.com/koban-csirt/koban/internal/config"
	"github.com/koban-csirt/koban/internal/fault"
	"github.com/koban-csirt/koban/internal/i18n"
)

const userSynopsis = `user <subcommand> [flags]

Subcommands:
  add NAME --role ROLE [--display-name TEXT] [--email ADDR] [--password-stdin]
  set-password NAME [--password-stdin]
  set-role NAME ROLE
  disable NAME
  enable NAME
  list

Roles: admin, responder, analyst, viewer, reporter. Without --password-stdin
koban generates a password, prints it once, and the user must change it at
first sign-in.`

func runUser(ctx context.Context, args []string, env Env) error {
	fs := newFlags("user", userSynopsis, env)
	cf := config.AddFlags(fs)
	role := fs.String("role", "", "role of the new user")
	display := fs.String("display-name", "", "display name of the new user")
	email := fs.String("email", "", "e-mail address of the new user")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of generating one")
	pos, err := parse(fs, args)
	if err != nil {
		return done(err)
	}
	if len(pos) == 0 {
		return usageErr(fs, "missing subcommand")
	}
	sub, pos := pos[0], pos[1:]
	want := map[string]int{"add": 1, "set-password": 1, "set-role": 2, "disable": 1, "enable": 1, "list": 0}
	n, ok := want[sub]
	if !ok {
		return usageErr(fs, "unknown subcommand %q", sub)
	}
	if len(pos) != n {
		return usageErr(fs, "%s takes %d argument(s), got %d", sub, n, len(pos))
	}
	if sub == "add" && *role == "" {
		return usageErr(fs, "add needs --role")
	}
	c, err := loadConfig(cf, env)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, c, true, nil)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := auth.New(db, authConfig(c), nil, nil)
	if err != nil {
		return err
	}
	cat, err := i18n.Load()
	if err != nil {
		return err
	}
	u := &userCmd{ctx: ctx, svc: svc, env: env, cat: cat}
	switch sub {
	case "add":
		return u.explain(u.add(pos[0], auth.Role(*role), *display, *email, *pwStdin))
	case "set-password":
		return u.explain(u.setPassword(pos[0], *pwStdin))
	case "set-role":
		return u.explain(u.byName(pos[0], func(id int64) error { return svc.SetRole(ctx, cliActor(env), id, auth.Role(pos[1])) }, "role changed"))
	case "disable":
		return u.explain(u.byName(pos[0], func(id int64) error { return svc.SetDisabled(ctx, cliActor(env), id, true) }, "disabled and signed out everywhere"))
	case "enable":
		return u.explain(u.byName(pos[0], func(id int64) error { return svc.SetDisabled(ctx, cliActor(env), id, false) }, "enabled"))
	}
	return u.list()
}

type userCmd struct {
	ctx context.Context
	svc *auth.Service
	env Env
	cat *i18n.Catalog
}

// explain prints the curated messages of a fault in the terminal's language
// and returns a short error for the exit status.
func (u *userCmd) explain(err error) error {
	fs := fault.Faults(err)
	if len(fs) == 0 || fault.KindOf(err) == fault.Internal {
		return err
	}
	lang := terminalLang(u.env.Getenv)
	for _, f := range fs {
		fmt.Fprintf(u.env.Stderr, "koban user: %s\n", u.cat.T(lang, f.Msg, f.Args...))
	}
	return fmt.Errorf("user command failed")
}

// terminalLang is Japanese when the locale says so (LC_ALL, LC_MESSAGES,
// LANG, as POSIX orders them), English otherwise.
func terminalLang(getenv func(string) string) i18n.Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if l := getenv(v); l != "" {
			if strings.HasPrefix(l, "ja") {
				return i18n.Japanese
			}
			return i18n.English
		}
	}
	return i18n.English
}

func (u *userCmd) readPassword() (string, error) {
	line, err := bufio.NewReader(u.env.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fault.InvalidField("password", "password.too_short", "min", auth.MinPasswordLen)
	}
	return pw, nil
}

func (u *userCmd) add(name string, role auth.Role, display, email string, pwStdin bool) error {
	pw := ""
	if pwStdin {
		var err error
		if pw, err = u.readPassword(); err != nil {
			return err
		}
	}
	created, generated, err := u.svc.CreateUser(u.ctx, cliActor(u.env), auth.NewUser{Name: name, DisplayName: display, Email: email, Role: role, Password: pw})
	if err != nil {
		return err
	}
	fmt.Fprintf(u.env.Stdout, "created user %s (%s)\n", created.Name, created.Role)
	if !pwStdin {
		fmt.Fprintf(u.env.Stdout, "one-time password (must be changed at first sign-in): %s\n", generated)
	}
	return nil
}

func (u *userCmd) setPassword(name string, pwStdin bool) error {
	pw := ""
	if pwStdin {
		var err error
		if pw, err = u.readPassword(); err != nil {
			return err
		}
	}
	usr, err := u.svc.UserByName(u.ctx, name)
	if err != nil {
		return userNotFound(err, name)
	}
	got, err := u.svc.ResetPassword(u.ctx, cliActor(u.env), usr.ID, pw)
	if err != nil {
		return err
	}
	fmt.Fprintf(u.env.Stdout, "password of %s reset; all their sessions ended\n", usr.Name)
	if !pwStdin {
		fmt.Fprintf(u.env.Stdout, "one-time password (must be changed at next sign-in): %s\n", got)
	}
	return nil
}

func userNotFound(err error, name string) error {
	if fault.Is(err, fault.NotFound) {
		return fmt.Errorf("no user called %q", name)
	}
	return err
}

func (u *userCmd) byName(name string, change func(id int64) error, what string) error {
	usr, err := u.svc.UserByName(u.ctx, name)
	if err != nil {
		return userNotFound(err, name)
	}
	if err := change(usr.ID); err != nil {
		return err
	}
	fmt.Fprintf(u.env.Stdout, "%s: %s\n", usr.Name, what)
	return nil
}

func (u *userCmd) list() error {
	us, err := u.svc.Users(u.ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(u.env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tTOTP\tDISPLAY NAME\tCREATED")
	for _, x := range us {
		status, totp := "active", "-"
		if x.Disabled {
			status = "disabled"
		}
		if x.TOTPEnabled() {
			totp = "on"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.Name, x.Role, status, totp, x.DisplayName, x.CreatedAt.Format("2006-01-02 15:04Z"))
	}
	return tw.Flush()
}
