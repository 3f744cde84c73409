package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idfusion/idfusion/authsvc"
	"github.com/idfusion/idfusion/internal/account"
)

// caFlags are the CA certificate login's (CA 认证登录): its own TLS
// listener, which asks for the client certificate, the CA roots, the CRLs
// and the subject attribute that names the account. Each defaults to its
// environment variable (AUTHSVC_CA_CRL: comma-separated).
type caFlags struct {
	addr, baseURL, roots, subject string
	crls                          multi
	tlsCert, tlsKey               string
}

func (c *caFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "ca-addr", os.Getenv("AUTHSVC_CA_ADDR"), "address of the CA login's TLS listener, which asks for the U-KEY's client certificate (env AUTHSVC_CA_ADDR; none: no CA login)")
	fs.StringVar(&c.baseURL, "ca-base-url", os.Getenv("AUTHSVC_CA_BASE_URL"), "the CA listener's public https URL, same host name as --base-url (env AUTHSVC_CA_BASE_URL; default https://CA-ADDR)")
	fs.StringVar(&c.roots, "ca-roots", os.Getenv("AUTHSVC_CA_ROOTS"), "PEM file of the CA roots client certificates must chain to (env AUTHSVC_CA_ROOTS)")
	fs.Var(&c.crls, "ca-crl", "a CRL file, DER or PEM, read again when it changes (repeatable; env AUTHSVC_CA_CRL, comma-separated)")
	fs.StringVar(&c.subject, "ca-subject", os.Getenv("AUTHSVC_CA_SUBJECT"), "the subject attribute holding the account's key: serialNumber|CN|OID, then :credit-code or :id-number (env AUTHSVC_CA_SUBJECT; default serialNumber:credit-code)")
	fs.StringVar(&c.tlsCert, "ca-tls-cert", os.Getenv("AUTHSVC_CA_TLS_CERT"), "the CA listener's server certificate (PEM; default --tls-cert's) (env AUTHSVC_CA_TLS_CERT)")
	fs.StringVar(&c.tlsKey, "ca-tls-key", os.Getenv("AUTHSVC_CA_TLS_KEY"), "the private key of --ca-tls-cert (env AUTHSVC_CA_TLS_KEY)")
}

// configure sets cfg.CA and returns the CA listener's TLS configuration;
// nil, nil without --ca-addr. main is the main listener's (nil: plain
// HTTP), whose certificate serves when the listener has none of its own.
func (c *caFlags) configure(cfg *authsvc.Config, main *tls.Config, logger *slog.Logger) (*tls.Config, error) {
	if len(c.crls) == 0 {
		for f := range strings.SplitSeq(os.Getenv("AUTHSVC_CA_CRL"), ",") {
			if f = strings.TrimSpace(f); f != "" {
				c.crls = append(c.crls, f)
			}
		}
	}
	if c.addr == "" {
		if c.roots != "" || len(c.crls) > 0 || c.tlsCert != "" {
			return nil, errors.New("--ca-roots, --ca-crl and --ca-tls-cert need --ca-addr (the CA login's listener)")
		}
		return nil, nil
	}
	if m := unset(c.roots, "--ca-roots (AUTHSVC_CA_ROOTS)", strings.Join(c.crls, ","), "--ca-crl (AUTHSVC_CA_CRL)"); m != "" {
		return nil, fmt.Errorf("the CA login (--ca-addr) needs %s", m)
	}
	subject, err := authsvc.ParseCertSubject(cmpOr(c.subject, "serialNumber:credit-code"))
	if err != nil {
		return nil, fmt.Errorf("--ca-subject: %w", err)
	}
	var tc *tls.Config
	switch {
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return nil, errors.New("--ca-tls-cert and --ca-tls-key go together")
	case c.tlsCert != "":
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--ca-tls-cert/--ca-tls-key: %w", err)
		}
		tc = &tls.Config{Certificates: []tls.Certificate{cert}}
	case main != nil && len(main.Certificates) > 0:
		tc = &tls.Config{Certificates: main.Certificates}
	default:
		return nil, errors.New("the CA login's listener serves TLS: give --ca-tls-cert and --ca-tls-key, or --tls-cert and --tls-key")
	}
	base := cmpOr(strings.TrimRight(c.baseURL, "/"), "https://"+c.addr)
	if cfg.CA, err = authsvc.NewCertLogin(authsvc.CertLoginConfig{Roots: c.roots, CRLs: c.crls, Subject: subject, BaseURL: base, Logger: logger}); err != nil {
		return nil, err
	}
	return authsvc.CertListenerTLS(tc), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// devCA is `authsvc dev-ca`: a development CA, a client certificate for
// an account and a CRL, and how to start the service and log in with
// curl.
func devCA(out io.Writer, args []string) error {
	fs := flag.NewFlagSet("authsvc dev-ca", flag.ContinueOnError)
	dir := fs.String("out", "", "the folder to write ca.pem, ca.key, user.pem, user.key and crl.pem to (required)")
	code := fs.String("credit-code", "", "a legal account's unified social credit code (in the subject's serialNumber)")
	idNumber := fs.String("id-number", "", "a citizen's ID number (in the subject's serialNumber)")
	name := fs.String("name", "开发测试", "the certificate's CN")
	revoke := fs.Bool("revoke", false, "put the user's certificate in the CRL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var value, key string
	switch {
	case *dir == "":
		return errors.New("dev-ca: --out is required")
	case (*code == "") == (*idNumber == ""):
		return errors.New("dev-ca: give one of --credit-code and --id-number")
	case *code != "":
		c, ok := account.NormalizeCreditCode(*code)
		if !ok {
			return fmt.Errorf("dev-ca: %q is not a valid unified social credit code", *code)
		}
		value, key = c, "credit-code"
	default:
		value, key = account.NormalizeID(*idNumber), "id-number"
	}
	if err := authsvc.WriteDevCA(*dir, authsvc.OIDSerialNumber, value, *name, *revoke, time.Now()); err != nil {
		return err
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	p := func(f string) string { return filepath.Join(abs, f) }
	fmt.Fprintf(out, "wrote %s, %s (0600), %s, %s (0600), %s, %s, %s (0600)\n", p("ca.pem"), p("ca.key"), p("user.pem"), p("user.key"), p("crl.pem"), p("server.pem"), p("server.key"))
	fmt.Fprintf(out, "start the service with:\n  authsvc --dev --ca-addr 127.0.0.1:8443 --ca-roots %s --ca-crl %s --ca-subject serialNumber:%s --ca-tls-cert %s --ca-tls-key %s\n",
		p("ca.pem"), p("crl.pem"), key, p("server.pem"), p("server.key"))
	fmt.Fprintf(out, "log in:\n  curl --cacert %s --cert %s --key %s -X POST https://127.0.0.1:8443/api/v1/login/ca\n", p("ca.pem"), p("user.pem"), p("user.key"))
	return nil
}
