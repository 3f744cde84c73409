package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idfusion/idfusion/cleanse"
)

// TestDevCA: dev-ca writes the CA, the user's certificate, a server
// certificate and the CRL, keys 0600, and prints the flags; the service
// started with them serves the CA login on its own TLS listener, which
// checks the certificate (this one names no account: refused, 401).
func TestDevCA(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := devCA(&out, []string{"--out", dir, "--credit-code", "91460100MA5T00012X"}); err == nil {
		t.Error("an invalid credit code was taken")
	}
	if err := devCA(&out, []string{"--out", dir, "--credit-code", "x", "--id-number", "x"}); err == nil {
		t.Error("both keys were taken")
	}
	out.Reset()
	code := "91460100MA5T99991" + string(cleanse.USCCCheckChar("91460100MA5T99991"))
	if err := devCA(&out, []string{"--out", dir, "--credit-code", code}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.key", "user.key", "server.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, fi, err)
		}
	}
	printed := out.String()
	if !strings.Contains(printed, "--ca-roots "+filepath.Join(dir, "ca.pem")) || !strings.Contains(printed, "curl --cacert") {
		t.Fatalf("printed:\n%s", printed)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	caAddr := ln.Addr().String()
	ln.Close()
	p := func(f string) string { return filepath.Join(dir, f) }
	_, cancel, done := startService(t, "--ca-addr", caAddr, "--ca-roots", p("ca.pem"), "--ca-crl", p("crl.pem"),
		"--ca-subject", "serialNumber:credit-code", "--ca-tls-cert", p("server.pem"), "--ca-tls-key", p("server.key"))
	defer func() { cancel(); waitStopped(t, done) }()

	pemCA, _ := os.ReadFile(p("ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCA)
	user, err := tls.LoadX509KeyPair(p("user.pem"), p("user.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, certs := range [][]tls.Certificate{{user}, nil} {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: certs}}}
		resp, err := hc.Post("https://"+caAddr+"/api/v1/login/ca", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || body["error"] != "ca_login_failed" {
			t.Errorf("%d certificates: %d %v, want 401 ca_login_failed", len(certs), resp.StatusCode, body)
		}
	}
}

// TestCAFlags: the CA login's flags need each other.
func TestCAFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--ca-roots", "x.pem"},                                                                                 // no --ca-addr
		{"--ca-addr", "127.0.0.1:0", "--ca-crl", "c.pem"},                                                       // no roots
		{"--ca-addr", "127.0.0.1:0", "--ca-roots", "x.pem"},                                                     // no CRL
		{"--ca-addr", "127.0.0.1:0", "--ca-roots", "x.pem", "--ca-crl", "c.pem"},                                // no server certificate
		{"--ca-addr", "127.0.0.1:0", "--ca-roots", "x.pem", "--ca-crl", "c.pem", "--ca-subject", "CN:passport"}, // bad key
	} {
		t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/none")
		err := run(t.Context(), append([]string{"--dev", "--data-dir", t.TempDir()}, args...))
		t.Log(err)
		if err == nil || !strings.Contains(err.Error(), "--ca-") {
			t.Errorf("%v: %v, want a refusal naming the CA flags", args, err)
		}
	}
}
