package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idfusion/idfusion/authsvc"
)

// clearEnv empties the variables the flags default to, so that the
// developer's environment does not leak into a test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"AUTHSVC_SMS_URL", "AUTHSVC_SMS_KEY_ID", "AUTHSVC_SMS_SECRET_FILE", "AUTHSVC_SMS_SECRET",
		"AUTHSVC_FACE_URL", "AUTHSVC_FACE_PUBLIC_KEY", "AUTHSVC_TRUST_PROXY", "AUTHSVC_LICENCE_URL", "AUTHSVC_LICENCE_PUBLIC_KEY", "AUTHSVC_UPSTREAM_CONFIG"} {
		t.Setenv(k, "")
	}
}

const testSecret = "0123456789abcdef0123456789abcdef"

// providerArgs are the flags of a complete production configuration but
// for HTTPS and the base URL; the secret is in a file.
func providerArgs(t *testing.T) []string {
	t.Helper()
	secretFile := filepath.Join(t.TempDir(), "sms.secret")
	if err := os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--sms-url", "https://sms.example.gov.cn/v1/send", "--sms-key-id", "authsvc-1", "--sms-secret-file", secretFile,
		"--face-url", "https://face.example.gov.cn/verify?challenge={challenge}", "--face-public-key", authsvc.EncodeEd25519Key(pub)}
}

// without returns args without the flag name and its value.
func without(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == name {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// TestProductionNeedsProviders: without --dev the service refuses to start
// unless it has an SMS gateway, a face provider, HTTPS (itself or behind a
// proxy) and an https base URL, and the refusal names what is missing.
func TestProductionNeedsProviders(t *testing.T) {
	clearEnv(t)
	prod := append(providerArgs(t), "--trust-proxy", "10.0.0.0/8", "--base-url", "https://login.example.gov.cn")
	with := func(extra ...string) []string { return append(slices.Clone(prod), extra...) }
	shortSecret := filepath.Join(t.TempDir(), "short.secret")
	if err := os.WriteFile(shortSecret, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	upstreamHTTP := filepath.Join(t.TempDir(), "upstream.yaml")
	if err := os.WriteFile(upstreamHTTP, []byte("providers:\n  - {id: gov, name: 国家政务服务平台, issuer: 'http://op.example.gov.cn', client_id: idfusion, client_secret_file: "+shortSecret+", level: LV3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     []string // name, value
		want    []string // in the error
		notWant []string
	}{
		{"nothing", nil, nil, []string{"without --dev", "AUTHSVC_SMS_URL", "AUTHSVC_SMS_SECRET", "AUTHSVC_FACE_URL", "AUTHSVC_FACE_PUBLIC_KEY", "--tls-cert", "__Host-", "--base-url"}, []string{"LICENCE"}},
		{"no face key", without(prod, "--face-public-key"), nil, []string{"AUTHSVC_FACE_PUBLIC_KEY"}, []string{"AUTHSVC_FACE_URL", "AUTHSVC_SMS_URL", "__Host-"}},
		{"no face URL", without(prod, "--face-url"), nil, []string{"AUTHSVC_FACE_URL"}, []string{"AUTHSVC_FACE_PUBLIC_KEY", "AUTHSVC_SMS_URL"}},
		{"no SMS URL", without(prod, "--sms-url"), nil, []string{"AUTHSVC_SMS_URL"}, []string{"AUTHSVC_FACE_URL"}},
		{"no SMS key id", without(prod, "--sms-key-id"), nil, []string{"AUTHSVC_SMS_KEY_ID"}, []string{"AUTHSVC_SMS_URL", "AUTHSVC_SMS_SECRET"}},
		{"no SMS secret", without(prod, "--sms-secret-file"), nil, []string{"AUTHSVC_SMS_SECRET"}, []string{"AUTHSVC_SMS_KEY_ID"}},
		{"secret twice", prod, []string{"AUTHSVC_SMS_SECRET", testSecret}, []string{"both"}, nil},
		{"short secret", append(without(prod, "--sms-secret-file"), "--sms-secret-file", shortSecret), nil, []string{"at least 32"}, []string{testSecret}},
		{"plain HTTP", without(prod, "--trust-proxy"), nil, []string{"--tls-cert", "--trust-proxy", "__Host-"}, []string{"AUTHSVC_SMS_URL"}},
		{"http base URL", with("--base-url", "http://login.example.gov.cn"), nil, []string{"--base-url"}, nil},
		{"no base URL", without(prod, "--base-url"), nil, []string{"--base-url"}, nil},
		{"proxy with host bits", with("--trust-proxy", "10.0.0.1/8"), nil, []string{"host bits"}, nil},
		{"proxy not an address", with("--trust-proxy", "10.0.0.0/8,proxy.local"), nil, []string{"proxy.local"}, nil},
		{"certificate without key", with("--tls-cert", "cert.pem"), nil, []string{"go together"}, nil},
		{"placeholder face key", with("--face-public-key", authsvc.EncodeEd25519Key(make([]byte, 32))), nil, []string{"small order"}, nil},
		{"face URL over http", with("--face-url", "http://face.example.gov.cn/{challenge}"), nil, []string{"plain http"}, nil},
		{"licence URL without its key", with("--licence-url", "https://licence.example.gov.cn/scan?c={challenge}"), nil, []string{"AUTHSVC_LICENCE_PUBLIC_KEY"}, []string{"AUTHSVC_LICENCE_URL"}},
		{"licence key without its URL", prod, []string{"AUTHSVC_LICENCE_PUBLIC_KEY", authsvc.EncodeEd25519Key(make([]byte, 32))}, []string{"AUTHSVC_LICENCE_URL"}, nil},
		{"licence URL over http", with("--licence-url", "http://licence.example.gov.cn/{challenge}", "--licence-public-key", authsvc.EncodeEd25519Key(bytes.Repeat([]byte{9}, 32))), nil, []string{"licence app URL template is plain http"}, nil},
		{"upstream issuer over http", with("--upstream-config", upstreamHTTP), nil, []string{"upstream provider gov: issuer must be an absolute https URL"}, nil},
		{"upstream config missing", prod, []string{"AUTHSVC_UPSTREAM_CONFIG", upstreamHTTP + ".missing"}, []string{"--upstream-config", "upstream.yaml.missing"}, nil},
		{"SMS URL over http", with("--sms-url", "http://sms.example.gov.cn/send"), nil, []string{"must be an absolute https URL"}, nil},
		{"partial gateway with --dev", []string{"--dev", "--sms-url", "https://sms.example.gov.cn/send"}, nil, []string{"AUTHSVC_SMS_KEY_ID"}, []string{"AUTHSVC_FACE_URL", "__Host-"}},
	}
	// Should a refusal be missing, the service must not start for good: no
	// database to reach, and the signal already given.
	t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/none?connect_timeout=1")
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i+1 < len(tt.env); i += 2 {
				t.Setenv(tt.env[i], tt.env[i+1])
			}
			err := run(stopped, append(tt.args, "--data-dir", t.TempDir()))
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q named", err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, should not name %q", err, w)
				}
			}
		})
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files and a client trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, hc *http.Client) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestServeTLS: without --dev, with the providers and a certificate, the
// service serves HTTPS itself (TLS 1.2 or later, HSTS on), and has no
// development routes.
func TestServeTLS(t *testing.T) {
	clearEnv(t)
	t.Setenv("GODEBUG", "tls10server=1")
	certFile, keyFile, hc := selfSigned(t)
	addr, cancel, done := startWith(t, hc, "https", append(providerArgs(t), "--tls-cert", certFile, "--tls-key", keyFile)...)
	defer cancel()
	resp, err := hc.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); resp.StatusCode != http.StatusOK || got != "max-age=31536000" {
		t.Errorf("healthz over HTTPS: %d, Strict-Transport-Security %q", resp.StatusCode, got)
	}
	for _, p := range []string{"/dev/sms", "/dev/face/0123456789abcdef0123456789abcdef"} {
		resp, err := hc.Get("https://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	// Go's own default is TLS 1.2 too; the GODEBUG setting (set before
	// the start) turns it back to 1.0, so that only the service's own
	// minimum refuses the handshake.
	old := hc.Transport.(*http.Transport).TLSClientConfig.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if conn, err := tls.Dial("tcp", addr, old); err == nil {
		conn.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}
	cancel()
	waitStopped(t, done)
}

// TestBehindProxy: without --dev, behind a trusted proxy (from the
// environment, as is the SMS secret) over plain HTTP, the service audits
// the forwarded client address and sends HSTS only when the proxy says
// https.
func TestBehindProxy(t *testing.T) {
	clearEnv(t)
	t.Setenv("AUTHSVC_SMS_SECRET", testSecret)
	t.Setenv("AUTHSVC_TRUST_PROXY", "127.0.0.0/8, ::1")
	args := append(without(providerArgs(t), "--sms-secret-file"), "--base-url", "https://login.example.gov.cn")
	addr, cancel, _ := startWith(t, http.DefaultClient, "http", args...)
	defer cancel()
	for _, tt := range []struct{ proto, want string }{{"https", "max-age=31536000"}, {"http", ""}, {"", ""}} {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Proto", tt.proto)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); got != tt.want {
			t.Errorf("X-Forwarded-Proto %q: Strict-Transport-Security %q, want %q", tt.proto, got, tt.want)
		}
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/login/password",
		strings.NewReader(`{"id_number":"110101199003070000","password":"Wrong#Pass9"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login: %d, want 401", resp.StatusCode)
	}
	db, err := pgx.Connect(context.Background(), os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var ip string
	if err := db.QueryRow(context.Background(), `SELECT ip FROM auth_audit WHERE event = 'login_password'`).Scan(&ip); err != nil || ip != "198.51.100.7" {
		t.Errorf("audited address %q (%v), want 198.51.100.7", ip, err)
	}
}
