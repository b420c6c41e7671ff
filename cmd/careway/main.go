// Command careway runs the Careway server: the API, the embedded database when no MongoDB is
// configured, and the demo data set for newcomers.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "careway:", err)
		os.Exit(1)
	}
}

// run is the whole program; main only hands it the process's context, arguments, environment
// and output, so that tests can run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd := ""
	if len(args) > 1 {
		cmd = args[1]
	}
	switch cmd {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	case "", "serve":
	case "rotate-keys":
		cfg, err := loadConfig(getenv)
		if err != nil {
			return err
		}
		return rotateKeys(cfg, stdout)
	default:
		usage(stdout)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdout)
}
