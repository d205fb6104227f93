// SPDX-License-Identifier: Apache-2.0

// Command koban is a CSIRT in a box: detection, incident response,
// threat intel and training for small organisations, in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/koban-csirt/koban/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.Main(ctx, os.Args[1:], app.OSEnv())
	switch {
	case errors.Is(err, app.ErrUsage):
		stop()
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "koban: %v\n", err)
		stop()
		os.Exit(1)
	}
}
