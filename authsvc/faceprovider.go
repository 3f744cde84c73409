package authsvc

import (
	"crypto/ed25519"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Provider is a service that verifies a person for a challenge: the QR
// code of a challenge leads to it (ChallengeURL), and it answers with a
// callback signed by its key, carrying a result of type T
// (VerifyCallback). One shape serves the face provider (FaceProvider) and
// the electronic business licence app (LicenceProvider): in production an
// App, the provider's own; in development a Simulator, which exists only
// with Config.Dev.
type Provider[T signedResult] interface {
	// ChallengeURL is what the QR code of a challenge holds: the address
	// the person's phone opens to verify for it.
	ChallengeURL(challengeID string) string
	// VerifyCallback checks a callback body as verifySigned does, under
	// the provider's key, and returns the result it signed.
	VerifyCallback(body []byte, now time.Time, maxAge time.Duration) (T, error)
}

// FaceProvider is the face verification service: the province's face app
// (FaceApp) in production, the simulator (FaceSimulator) in development.
type FaceProvider = Provider[FaceResult]

// LicenceProvider is the electronic business licence app (电子营业执照):
// LicenceApp in production, LicenceSimulator in development.
type LicenceProvider = Provider[LicenceResult]

// FaceChallengePlaceholder is what an App's URL template holds where the
// challenge id goes.
const FaceChallengePlaceholder = "{challenge}"

// App is the production Provider: the provider's app, which opens the URL
// of the QR code and calls back (the callback URL registered with the
// provider) with a result signed by its Ed25519 key (the format is in
// facesig.go).
type App[T signedResult] struct {
	template string
	pub      ed25519.PublicKey
}

// FaceApp is the province's face app, which calls back
// BASE-URL/api/v1/face/callback.
type FaceApp = App[FaceResult]

// LicenceApp is the electronic business licence app, which calls back
// BASE-URL/api/v1/licence/callback.
type LicenceApp = App[LicenceResult]

// NewFaceApp returns the face app whose challenge page is urlTemplate, an
// absolute URL holding FaceChallengePlaceholder exactly once (such as
// https://face.example.gov.cn/verify?challenge={challenge}, or an app
// link), and whose callbacks pub verifies. Plain http is refused: a
// network in between could send the citizen's phone elsewhere.
func NewFaceApp(urlTemplate string, pub ed25519.PublicKey) (*FaceApp, error) {
	return newApp[FaceResult]("face app", urlTemplate, pub)
}

// NewLicenceApp returns the electronic business licence app, as NewFaceApp
// the face app.
func NewLicenceApp(urlTemplate string, pub ed25519.PublicKey) (*LicenceApp, error) {
	return newApp[LicenceResult]("licence app", urlTemplate, pub)
}

func newApp[T signedResult](name, urlTemplate string, pub ed25519.PublicKey) (*App[T], error) {
	if n := strings.Count(urlTemplate, FaceChallengePlaceholder); n != 1 {
		return nil, fmt.Errorf("%s URL template holds %s %d times, want once", name, FaceChallengePlaceholder, n)
	}
	// A challenge id is hex: what the URL becomes parses like this one.
	u, err := url.Parse(strings.Replace(urlTemplate, FaceChallengePlaceholder, "0", 1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s URL template: %w", name, err)
	case !u.IsAbs() || (u.Host == "" && u.Opaque == ""):
		return nil, fmt.Errorf("%s URL template is not an absolute URL", name)
	case strings.EqualFold(u.Scheme, "http"):
		return nil, fmt.Errorf("%s URL template is plain http; want https or the app's own scheme", name)
	case u.User != nil:
		return nil, fmt.Errorf("%s URL template holds credentials", name)
	case len(pub) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("%s public key is %d bytes, want %d", name, len(pub), ed25519.PublicKeySize)
	case smallOrder(pub):
		return nil, fmt.Errorf("%s public key is a point of small order, under which signatures can be forged", name)
	}
	return &App[T]{template: urlTemplate, pub: pub}, nil
}

// ChallengeURL fills the challenge id into the template. Ids are lowercase
// hex (ValidChallengeID), so nothing needs escaping.
func (f *App[T]) ChallengeURL(challengeID string) string {
	return strings.Replace(f.template, FaceChallengePlaceholder, challengeID, 1)
}

// VerifyCallback verifies body under the app's public key.
func (f *App[T]) VerifyCallback(body []byte, now time.Time, maxAge time.Duration) (T, error) {
	return verifySigned[T](body, f.pub, now, maxAge)
}

// Simulator is the development Provider: its page at /dev/KIND/{id} plays
// the provider's app and signs with a key of its own. Only with
// Config.Dev; New makes one when Dev and no provider is given.
type Simulator[T signedResult] struct {
	baseURL string
	key     ed25519.PrivateKey
}

// FaceSimulator plays the face app at /dev/face/{id}.
type FaceSimulator = Simulator[FaceResult]

// LicenceSimulator plays the licence app at /dev/licence/{id}.
type LicenceSimulator = Simulator[LicenceResult]

// NewFaceSimulator returns the face simulator of the service at baseURL
// (Config.BaseURL), signing with key.
func NewFaceSimulator(baseURL string, key ed25519.PrivateKey) (*FaceSimulator, error) {
	return newSimulator[FaceResult](baseURL, key)
}

// NewLicenceSimulator returns the licence simulator of the service at
// baseURL (Config.BaseURL), signing with key.
func NewLicenceSimulator(baseURL string, key ed25519.PrivateKey) (*LicenceSimulator, error) {
	return newSimulator[LicenceResult](baseURL, key)
}

func newSimulator[T signedResult](baseURL string, key ed25519.PrivateKey) (*Simulator[T], error) {
	var zero T
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%s simulator key is %d bytes, want %d", zero.kind(), len(key), ed25519.PrivateKeySize)
	}
	return &Simulator[T]{baseURL: strings.TrimRight(baseURL, "/"), key: key}, nil
}

// ChallengeURL is the simulator's page for the challenge.
func (f *Simulator[T]) ChallengeURL(challengeID string) string {
	var zero T
	return f.baseURL + "/dev/" + zero.kind() + "/" + challengeID
}

// VerifyCallback verifies body under the simulator's public key.
func (f *Simulator[T]) VerifyCallback(body []byte, now time.Time, maxAge time.Duration) (T, error) {
	return verifySigned[T](body, f.key.Public().(ed25519.PublicKey), now, maxAge)
}

// sign signs r with the simulator's key.
func (f *Simulator[T]) sign(r T) ([]byte, error) {
	return signResult(f.key, r)
}
