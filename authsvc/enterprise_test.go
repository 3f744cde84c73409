package authsvc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEnterpriseRegistry: the development registry over real HTTP, with
// the production client: not yet available for its delay after it first
// sees a code, then match or mismatch by its fixture; the secret is
// required; an unknown answer or a slow interface is an error.
func TestEnterpriseRegistry(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	known := Enterprise{CreditCode: creditCode(), Name: "海南椰风科技有限公司", RepName: "吴斌", RepIDType: "resident", RepID: residentID("19700101")}
	dir := t.TempDir()
	fixture := filepath.Join(dir, "enterprises.json")
	if err := os.WriteFile(fixture, []byte(`[{"credit_code":"`+known.CreditCode+`","name":"`+known.Name+`","rep_name":"吴斌","rep_id_type":"resident","rep_id":"`+known.RepID+`"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	fx, err := LoadEnterpriseFixture(fixture)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewEnterpriseRegistry(fx, time.Hour, c.Now)
	reg.Secret = "s3cret"
	srv := httptest.NewServer(reg)
	defer srv.Close()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("s3cret\n"), 0o600)
	v, err := NewHTTPEnterpriseVerifier(srv.URL, secretFile, "", "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ask := func(e Enterprise, want Verdict) {
		t.Helper()
		if got, err := v.Verify(ctx, e); err != nil || got != want {
			t.Fatalf("at %v: %q %v, want %q", c.Now(), got, err, want)
		}
	}
	ask(known, NotYetAvailable)
	c.Advance(59 * time.Minute)
	ask(known, NotYetAvailable)
	c.Advance(time.Minute)
	ask(known, Match)
	other := known
	other.RepID = residentID("19800101")
	ask(other, Mismatch)
	other = known
	other.Name = "海南别名有限公司"
	ask(other, Mismatch)
	unknown := known
	unknown.CreditCode = creditCode()
	ask(unknown, NotYetAvailable)
	c.Advance(2 * time.Hour)
	ask(unknown, NotYetAvailable) // not in the fixture: never a verdict

	// Without the secret: refused, an error to the client.
	if _, err := (&HTTPEnterpriseVerifier{URL: srv.URL, Client: srv.Client()}).Verify(ctx, known); err == nil {
		t.Error("no secret: no error")
	}
	// An answer it does not know, and an interface too slow.
	odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"result":"maybe"}`)) }))
	defer odd.Close()
	if _, err := (&HTTPEnterpriseVerifier{URL: odd.URL}).Verify(ctx, known); err == nil {
		t.Error("unknown result: no error")
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(300 * time.Millisecond) }))
	defer slow.Close()
	if _, err := (&HTTPEnterpriseVerifier{URL: slow.URL, Client: &http.Client{Timeout: 50 * time.Millisecond}}).Verify(ctx, known); err == nil {
		t.Error("slow interface: no error")
	}
}
