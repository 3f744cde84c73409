package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpstreamConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gov.secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(body string) string {
		f := filepath.Join(dir, "upstream.yaml")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	good := `providers:
  - id: gov
    name: 国家政务服务平台
    issuer: https://op.example.gov.cn
    client_id: idfusion
    client_secret_file: gov.secret
    claims: {id_number: cert_no}
    resident_id_types: [id_card, "111"]
    level: LV3
    face_verified: true
`
	ps, err := loadUpstream(write(good), false)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if len(ps) != 1 || p.ID != "gov" || p.Name != "国家政务服务平台" || p.ClientSecret != "s3cret" || p.Claims.IDNumber != "cert_no" ||
		len(p.ResidentIDTypes) != 2 || p.Level != "LV3" || !p.FaceVerified {
		t.Fatalf("loaded %+v", ps)
	}
	for _, tc := range []struct{ body, want string }{
		{strings.Replace(good, "level: LV3", "level: LV4", 1), "level"},
		{strings.Replace(good, "    client_secret_file: gov.secret\n", "", 1), "client_secret_file"},
		{strings.Replace(good, "gov.secret", "missing.secret", 1), "client_secret_file"},
		{strings.Replace(good, "https://op", "http://op", 1), "issuer must be an absolute https URL"},
		{strings.Replace(good, "    name: 国家政务服务平台\n", "", 1), "name"},
		{strings.Replace(good, "face_verified", "face_verifed", 1), "face_verifed"},
		{strings.Replace(good, "issuer: https://op.example.gov.cn", "issuer: https://op.example.gov.cn\n    auth_url: https://op.example.gov.cn/a", 1), "auth_url, token_url, jwks_url"},
		{good + strings.SplitN(good, "\n", 2)[1], "twice"},
	} {
		if _, err := loadUpstream(write(tc.body), false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %q, got %v", tc.want, err)
		}
	}
	// --dev allows http (the development stand-in).
	if _, err := loadUpstream(write(strings.Replace(good, "https://op", "http://op", 1)), true); err != nil {
		t.Fatal(err)
	}
}
