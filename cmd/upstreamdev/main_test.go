package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// The command serves the provider's discovery under the issuer it was
// given, with the citizens of its file, and stops when told.
func TestServesDiscovery(t *testing.T) {
	dir := t.TempDir()
	citizens := filepath.Join(dir, "citizens.json")
	secret := filepath.Join(dir, "secret")
	os.WriteFile(citizens, []byte(`[{"name":"韩梅梅","id_number":"110101199003077774","in_exports":true}]`), 0o644)
	os.WriteFile(secret, []byte("s3cret\n"), 0o600)
	if err := run(context.Background(), []string{"--citizens", citizens}, nil); err == nil {
		t.Fatal("started without the required flags")
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--citizens", citizens, "--client-secret-file", secret,
			"--redirect-uri", "http://127.0.0.1:1/cb"}, func(a string) { addrs <- a })
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d["issuer"] != "http://"+addr || d["token_endpoint"] != "http://"+addr+"/token" {
		t.Errorf("discovery: %v", d)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
