package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/idfusion/idfusion/authsvc"
)

// TestEnterpriseFlags: in development without --enterprise-url the
// service serves the stand-in registry at /dev/enterprise-registry
// beside its own routes and verifies against it over HTTP; with a URL
// the production client reads its secret from the file; a bad schedule
// is refused.
func TestEnterpriseFlags(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join(dir, "enterprises.json")
	os.WriteFile(fixture, []byte(`[{"credit_code":"91460100MA5T00001X","name":"海南椰风科技有限公司","rep_name":"吴斌","rep_id":"x"}]`), 0o600)
	var ent enterpriseFlags
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	ent.register(fs)
	if err := fs.Parse([]string{"--enterprise-fixture", fixture, "--enterprise-delay", "0s"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := authsvc.Config{BaseURL: "http://" + srv.Listener.Addr().String()}
	reg, err := ent.configure(&cfg, true, slog.New(slog.DiscardHandler))
	if err != nil || reg == nil || cfg.Enterprise == nil {
		t.Fatalf("dev: %v %v", reg, err)
	}
	srv.Config.Handler = withRegistry(http.NotFoundHandler(), reg)
	srv.Start()
	defer srv.Close()
	ctx := context.Background()
	v, err := cfg.Enterprise.Verify(ctx, authsvc.Enterprise{CreditCode: "91460100MA5T00001X", Name: "海南椰风科技有限公司", RepName: "吴斌", RepID: "x"})
	if err != nil || v != authsvc.Match {
		t.Fatalf("dev registry: %q %v", v, err)
	}
	if r, _ := http.Get(srv.URL + "/center"); r == nil || r.StatusCode != http.StatusNotFound {
		t.Error("the service's routes are not behind the registry")
	}

	// Production: the client of the configured URL with the secret file.
	var got string
	prodSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		io.Copy(io.Discard, r.Body)
		json.NewEncoder(w).Encode(map[string]string{"result": "mismatch"})
	}))
	defer prodSrv.Close()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("top\n"), 0o600)
	prod := enterpriseFlags{url: prodSrv.URL, secretFile: secret}
	cfg = authsvc.Config{}
	if reg, err := prod.configure(&cfg, false, slog.New(slog.DiscardHandler)); err != nil || reg != nil {
		t.Fatalf("prod: %v %v", reg, err)
	}
	if v, err := cfg.Enterprise.Verify(ctx, authsvc.Enterprise{CreditCode: "x"}); err != nil || v != authsvc.Mismatch || got != "Bearer top" {
		t.Fatalf("prod verify: %q %v %q", v, err, got)
	}
	// Without a URL in production: no verifier, a warning.
	var log bytes.Buffer
	cfg = authsvc.Config{}
	if _, err := (&enterpriseFlags{}).configure(&cfg, false, slog.New(slog.NewTextHandler(&log, nil))); err != nil || cfg.Enterprise != nil ||
		!bytes.Contains(log.Bytes(), []byte("enterprise_verifier_missing")) {
		t.Errorf("no url: %v %s", err, log.String())
	}
	if _, err := startRealnameJob(ctx, nil, "not a schedule", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a bad schedule was taken")
	}
}
