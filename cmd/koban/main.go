// SPDX-License-Identifier: Apache-2.0

// Command koban is a CSIRT in a box: detection, incident response,
// threat intel and training for small organisations, in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/koban-csirt/koban/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.ExitCode(app.Main(ctx, os.Args[1:], app.OSEnv()), os.Stderr)
	stop()
	os.Exit(code)
}
