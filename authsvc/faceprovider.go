package authsvc

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// FaceProvider is the face verification service: the QR code of a
// challenge leads to it (ChallengeURL), and it answers with a signed
// callback (VerifyCallback). In production it is the province's face app
// (FaceApp); in development the simulator (FaceSimulator), which exists
// only with Config.Dev.
type FaceProvider interface {
	// ChallengeURL is what the QR code of a challenge holds: the address
	// the citizen's phone opens to verify the face for it.
	ChallengeURL(challengeID string) string
	// VerifyCallback checks a callback body as VerifyFaceCallback does,
	// under the provider's key, and returns the result it signed.
	VerifyCallback(body []byte, now time.Time, maxAge time.Duration) (FaceResult, error)
}

// FaceChallengePlaceholder is what FaceApp's URL template holds where the
// challenge id goes.
const FaceChallengePlaceholder = "{challenge}"

// FaceApp is the production FaceProvider: the province's face app, which
// opens the URL of the QR code and calls back BASE-URL/api/v1/face/callback
// (registered with the provider) with a result signed by its Ed25519 key
// (the format is in facesig.go).
type FaceApp struct {
	template string
	pub      ed25519.PublicKey
}

// NewFaceApp returns the face app whose challenge page is urlTemplate, an
// absolute URL holding FaceChallengePlaceholder exactly once (such as
// https://face.example.gov.cn/verify?challenge={challenge}, or an app
// link), and whose callbacks pub verifies. Plain http is refused: a
// network in between could send the citizen's phone elsewhere.
func NewFaceApp(urlTemplate string, pub ed25519.PublicKey) (*FaceApp, error) {
	if n := strings.Count(urlTemplate, FaceChallengePlaceholder); n != 1 {
		return nil, fmt.Errorf("face app URL template holds %s %d times, want once", FaceChallengePlaceholder, n)
	}
	// A challenge id is hex: what the URL becomes parses like this one.
	u, err := url.Parse(strings.Replace(urlTemplate, FaceChallengePlaceholder, "0", 1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("face app URL template: %w", err)
	case !u.IsAbs() || (u.Host == "" && u.Opaque == ""):
		return nil, errors.New("face app URL template is not an absolute URL")
	case strings.EqualFold(u.Scheme, "http"):
		return nil, errors.New("face app URL template is plain http; want https or the app's own scheme")
	case u.User != nil:
		return nil, errors.New("face app URL template holds credentials")
	case len(pub) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("face app public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	case smallOrder(pub):
		return nil, errors.New("face app public key is a point of small order, under which signatures can be forged")
	}
	return &FaceApp{template: urlTemplate, pub: pub}, nil
}

// ChallengeURL fills the challenge id into the template. Ids are lowercase
// hex (ValidChallengeID), so nothing needs escaping.
func (f *FaceApp) ChallengeURL(challengeID string) string {
	return strings.Replace(f.template, FaceChallengePlaceholder, challengeID, 1)
}

// VerifyCallback verifies body under the app's public key.
func (f *FaceApp) VerifyCallback(body []byte, now time.Time, maxAge time.Duration) (FaceResult, error) {
	return VerifyFaceCallback(body, f.pub, now, maxAge)
}

// FaceSimulator is the development FaceProvider: its page at
// /dev/face/{id} plays the face app and signs with a key of its own. Only
// with Config.Dev; New makes one when Dev and no Config.Face is given.
type FaceSimulator struct {
	baseURL string
	key     ed25519.PrivateKey
}

// NewFaceSimulator returns the simulator of the service at baseURL
// (Config.BaseURL), signing with key.
func NewFaceSimulator(baseURL string, key ed25519.PrivateKey) (*FaceSimulator, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("face simulator key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	return &FaceSimulator{baseURL: strings.TrimRight(baseURL, "/"), key: key}, nil
}

// ChallengeURL is the simulator's page for the challenge.
func (f *FaceSimulator) ChallengeURL(challengeID string) string {
	return f.baseURL + "/dev/face/" + challengeID
}

// VerifyCallback verifies body under the simulator's public key.
func (f *FaceSimulator) VerifyCallback(body []byte, now time.Time, maxAge time.Duration) (FaceResult, error) {
	return VerifyFaceCallback(body, f.key.Public().(ed25519.PublicKey), now, maxAge)
}
