package authsvc

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

// TestNewFaceApp: the template must lead to one place per challenge, not
// over plain http; the key must be one signatures cannot be forged under.
func TestNewApp(t *testing.T) {
	t.Parallel()
	t.Run("face", func(t *testing.T) {
		t.Parallel()
		testNewApp(t, func(tpl string, pub ed25519.PublicKey) error { _, err := NewFaceApp(tpl, pub); return err })
	})
	t.Run("licence", func(t *testing.T) {
		t.Parallel()
		testNewApp(t, func(tpl string, pub ed25519.PublicKey) error { _, err := NewLicenceApp(tpl, pub); return err })
	})
}

func testNewApp(t *testing.T, newApp func(string, ed25519.PublicKey) error) {
	pub := newKey(t).Public().(ed25519.PublicKey)
	tests := []struct {
		name, template string
		pub            ed25519.PublicKey
		want           string // in the error; "" for none
	}{
		{"https", "https://face.example.gov.cn/verify?challenge={challenge}", pub, ""},
		{"app link", "hnzwfw://face/verify/{challenge}", pub, ""},
		{"opaque app link", "hnzwfw:face?c={challenge}", pub, ""},
		{"no placeholder", "https://face.example.gov.cn/verify", pub, "0 times"},
		{"two placeholders", "https://face.example.gov.cn/{challenge}/{challenge}", pub, "2 times"},
		{"plain http", "http://face.example.gov.cn/{challenge}", pub, "plain http"},
		{"plain HTTP", "HTTP://face.example.gov.cn/{challenge}", pub, "plain http"},
		{"relative", "/verify/{challenge}", pub, "absolute"},
		{"credentials", "https://u:p@face.example.gov.cn/{challenge}", pub, "credentials"},
		{"no key", "https://face.example.gov.cn/{challenge}", nil, "0 bytes"},
		{"zero key", "https://face.example.gov.cn/{challenge}", make(ed25519.PublicKey, 32), "small order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := newApp(tt.template, tt.pub)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestProviders: each provider's QR code leads to its own page for the
// challenge, and each verifies its own signature only.
func TestProviders(t *testing.T) {
	t.Parallel()
	const ch = "0123456789abcdef0123456789abcdef"
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	t.Run("face", func(t *testing.T) {
		t.Parallel()
		testProviders(t, NewFaceApp, NewFaceSimulator, "/dev/face/",
			FaceResult{Challenge: ch, IDNumber: "110101199003070000", Result: FacePass, IssuedAt: now.Unix(), Nonce: NewFaceNonce()}, now)
	})
	t.Run("licence", func(t *testing.T) {
		t.Parallel()
		testProviders(t, NewLicenceApp, NewLicenceSimulator, "/dev/licence/",
			LicenceResult{Challenge: ch, CreditCode: "91460000MA5T2CK28W", RepIDNumber: "110101199003070000", Result: FacePass, IssuedAt: now.Unix(), Nonce: NewFaceNonce()}, now)
	})
}

func testProviders[T signedResult](t *testing.T, newApp func(string, ed25519.PublicKey) (*App[T], error),
	newSim func(string, ed25519.PrivateKey) (*Simulator[T], error), simPath string, res T, now time.Time) {
	appKey, simKey := newKey(t), newKey(t)
	app, err := newApp("https://app.example.gov.cn/verify?challenge={challenge}", appKey.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := newSim("https://login.example.gov.cn/", simKey)
	if err != nil {
		t.Fatal(err)
	}
	const ch = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name     string
		p        Provider[T]
		key      ed25519.PrivateKey
		url      string
		otherKey ed25519.PrivateKey
	}{
		{"app", app, appKey, "https://app.example.gov.cn/verify?challenge=" + ch, simKey},
		{"simulator", sim, simKey, "https://login.example.gov.cn" + simPath + ch, appKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.p.ChallengeURL(ch); got != tt.url {
				t.Errorf("ChallengeURL = %q, want %q", got, tt.url)
			}
			body, err := signResult(tt.key, res)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := tt.p.VerifyCallback(body, now, time.Minute); err != nil || got != res {
				t.Errorf("own signature: %+v %v", got, err)
			}
			forged, err := signResult(tt.otherKey, res)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tt.p.VerifyCallback(forged, now, time.Minute); !errors.Is(err, ErrCallbackSignature) {
				t.Errorf("the other provider's signature: %v, want ErrCallbackSignature", err)
			}
		})
	}
}
