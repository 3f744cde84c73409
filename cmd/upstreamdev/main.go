// Command upstreamdev runs the development stand-in of an upstream identity
// provider the province trusts (国家政务服务平台, 椰城市民云, 电子社保卡): an
// OpenID provider of its own (internal/upstreamdev) with its own sample
// citizens, that the login service's upstream login signs in with over
// real HTTP. `make demo` runs it beside the login service. Never in
// production: it asks its citizens for no password.
//
// Usage:
//
//	upstreamdev --citizens FILE --client-secret-file FILE --redirect-uri URI [--redirect-uri URI]...
//	            [--addr 127.0.0.1:8070] [--issuer http://ADDR] [--title 国家政务服务平台] [--client-id idfusion]
//
// FILE is a JSON array of {"name", "id_number", "phone"} (`fusion gen`
// writes upstream_citizens.json: some persons the departments hold and some
// they do not). The one client is the login service, with the secret in
// --client-secret-file (a flag would show it in the process list).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/idfusion/idfusion/internal/upstreamdev"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "upstreamdev:", err)
		os.Exit(2)
	}
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// run serves until ctx ends; ready, when set, gets the listener's address.
func run(ctx context.Context, args []string, ready func(addr string)) error {
	fs := flag.NewFlagSet("upstreamdev", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8070", "address to listen on")
	issuer := fs.String("issuer", "", "issuer URL (default http://ADDR)")
	title := fs.String("title", "国家政务服务平台", "the provider's name on its page")
	citizens := fs.String("citizens", "", "JSON file of the provider's citizens (required)")
	clientID := fs.String("client-id", "idfusion", "the login service's client_id")
	secretFile := fs.String("client-secret-file", "", "file holding the login service's client secret (required)")
	var redirects listFlag
	fs.Var(&redirects, "redirect-uri", "the login service's callback URL (repeatable, at least one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *citizens == "" || *secretFile == "" || len(redirects) == 0 {
		return errors.New("--citizens, --client-secret-file and --redirect-uri are required")
	}
	cs, err := upstreamdev.LoadCitizens(*citizens)
	if err != nil {
		return err
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	if *issuer == "" {
		*issuer = "http://" + l.Addr().String()
	}
	p, err := upstreamdev.New(upstreamdev.Config{Issuer: *issuer, Title: *title, Citizens: cs,
		Clients: []upstreamdev.Client{{ID: *clientID, Secret: strings.TrimSpace(string(secret)), RedirectURIs: redirects}}})
	if err != nil {
		l.Close()
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	slog.Info("stand-in upstream provider", "title", *title, "issuer", *issuer, "citizens", len(cs))
	if ready != nil {
		ready(l.Addr().String())
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
