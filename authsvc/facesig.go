package authsvc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"

	"github.com/idfusion/idfusion/internal/pii"
)

// The signed callbacks of the providers that verify a person for a
// challenge: the face provider (a FaceResult) and the electronic business
// licence app (a LicenceResult, licencesig.go). The login page shows a QR
// code for a fresh challenge, the provider's app scans it and verifies, and
// the provider answers its callback URL with this body:
//
//	{"payload": "<base64url, raw, of the JSON of the result>",
//	 "signature": "<base64url, raw, of the Ed25519 signature of those bytes>"}
//
// The signature covers the payload's exact bytes, so neither side has to
// re-serialise JSON the same way for a signature to verify. One mechanism,
// verifySigned and signResult, serves every result type (signedResult).

// signedResult is a result type a provider signs: its fields' exact JSON
// names, its own checks, and when it was issued.
type signedResult interface {
	comparable
	// validate checks the fields, not the time; its errors wrap
	// ErrCallbackResult and never include a person's numbers.
	validate() error
	// issuedAt is when the provider signed, in Unix seconds.
	issuedAt() int64
	// resultFields are the payload's exact JSON field names.
	resultFields() []string
	// kind names the provider in configuration errors ("face").
	kind() string
}

// FaceResult is what the face provider says about one challenge.
type FaceResult struct {
	// Challenge is the challenge id, NewChallengeID's 32 lowercase hex
	// characters.
	Challenge string `json:"challenge"`
	// IDNumber is the ID number of the person whose face the provider
	// verified. The caller compares it with the account's; it is never
	// logged (LogValue masks it).
	IDNumber string `json:"id_number"`
	// Result is FacePass or FaceFail.
	Result string `json:"result"`
	// IssuedAt is when the provider signed, in Unix seconds.
	IssuedAt int64 `json:"issued_at"`
	// Nonce makes every signed result unique, even two answers to one
	// challenge in the same second; at least 16 characters (NewFaceNonce).
	Nonce string `json:"nonce"`
}

// The values of a result's Result. A fail result verifies like a pass: it
// is a genuine answer, and the caller counts it as a failed credential
// check.
const (
	FacePass = "pass"
	FaceFail = "fail"
)

// MaxFaceCallbackSize is the largest callback body the verifiers accept,
// in bytes: a real one is a few hundred. The handler should read the body
// through http.MaxBytesReader with this limit (plus one, to tell an
// oversized body from a full one) rather than read it all first.
const MaxFaceCallbackSize = 8 << 10

// The verifiers' errors (VerifyFaceCallback, VerifyLicenceCallback). Every
// rejection wraps exactly one of them.
var (
	// ErrCallbackMalformed: the body is too large, not the envelope's
	// JSON, not base64url, or the payload is not the result's JSON
	// (unknown, duplicate or wrongly typed fields).
	ErrCallbackMalformed = errors.New("malformed callback")
	// ErrCallbackSignature: the signature is missing or does not verify
	// under the provider's key: the body was not signed by the provider,
	// or was changed after.
	ErrCallbackSignature = errors.New("callback signature does not verify")
	// ErrCallbackStale: the result was issued longer ago than the allowed
	// age, or too far in the future for clock skew.
	ErrCallbackStale = errors.New("callback is stale")
	// ErrCallbackResult: the signed result is not valid (challenge id, a
	// number, result or nonce). A fail result is not this error: it is a
	// valid answer.
	ErrCallbackResult = errors.New("invalid callback result")
)

const (
	// faceClockSkew is how far in the future a result may be issued: the
	// provider's clock and ours differ by a few seconds at most.
	faceClockSkew = 30 * time.Second
	// minFaceNonceLen is the shortest nonce accepted, in bytes: 16 hex
	// characters already carry 64 random bits.
	minFaceNonceLen = 16
)

// The exact JSON field names: matching them exactly (encoding/json would
// fold case and keep the last duplicate) leaves a signed payload only one
// meaning.
var (
	faceEnvelopeFields = []string{"payload", "signature"}
	faceResultFields   = []string{"challenge", "id_number", "result", "issued_at", "nonce"}
)

// faceEnvelope is the callback body.
type faceEnvelope struct {
	Payload   string `json:"payload"`
	Signature string `json:"signature"`
}

// b64url is the encoding of the envelope's fields. Strict refuses the
// several spellings of one value that non-zero trailing bits would allow.
var b64url = base64.RawURLEncoding.Strict()

// SignFaceResult returns the callback body for r, signed with priv: what the
// face provider sends, and what the development face simulator sends in its
// place. It refuses a result VerifyFaceCallback would refuse as
// ErrCallbackResult; it does not set or check IssuedAt.
func SignFaceResult(priv ed25519.PrivateKey, r FaceResult) ([]byte, error) {
	return signResult(priv, r)
}

// signResult signs r as its provider does.
func signResult[T signedResult](priv ed25519.PrivateKey, r T) ([]byte, error) {
	if len(priv) != ed25519.PrivateKeySize {
		// ed25519.Sign would panic.
		return nil, fmt.Errorf("authsvc: %s signing key is %d bytes, want %d", r.kind(), len(priv), ed25519.PrivateKeySize)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("authsvc: encode %s result: %w", r.kind(), err)
	}
	return json.Marshal(faceEnvelope{
		Payload:   b64url.EncodeToString(payload),
		Signature: b64url.EncodeToString(ed25519.Sign(priv, payload)),
	})
}

// VerifyFaceCallback checks a face callback body and returns the result the
// provider signed, as verifySigned does: a FaceResult has a non-empty
// id_number.
//
// The signature proves only that the provider said it. The caller must
// still check against the database, under a lock so that a race loses:
// that the challenge exists and has not expired; that it is still pending,
// and mark it answered (single use: this function is pure, so the same body
// verifies again and again, and replay is stopped only there); that
// IDNumber is the ID number of the challenge's account; and later, that
// only the session the challenge was issued to consumes its approval.
func VerifyFaceCallback(body []byte, pub ed25519.PublicKey, now time.Time, maxAge time.Duration) (FaceResult, error) {
	return verifySigned[FaceResult](body, pub, now, maxAge)
}

// verifySigned checks a callback body and returns the result of type T the
// provider signed. It accepts a body only if it is at most
// MaxFaceCallbackSize bytes of the exact envelope (no other fields), the
// signature verifies under pub, the payload is exactly T's JSON (its
// resultFields) and T's validate accepts it (a valid challenge id, a result
// of pass or fail, a nonce of at least 16 characters…), and it was issued at
// most maxAge before now and at most 30 s after (clock skew). Every rejection
// wraps one of ErrCallbackMalformed, ErrCallbackSignature, ErrCallbackStale
// and ErrCallbackResult; a pub of the wrong length is an error wrapping
// none.
func verifySigned[T signedResult](body []byte, pub ed25519.PublicKey, now time.Time, maxAge time.Duration) (T, error) {
	var zero T
	if len(pub) != ed25519.PublicKeySize {
		// A configuration error, not the caller's: ed25519.Verify would
		// panic.
		return zero, fmt.Errorf("authsvc: %s public key is %d bytes, want %d", zero.kind(), len(pub), ed25519.PublicKeySize)
	}
	if len(body) > MaxFaceCallbackSize {
		return zero, fmt.Errorf("%w: body is over %d bytes", ErrCallbackMalformed, MaxFaceCallbackSize)
	}
	var env faceEnvelope
	if err := decodeExact(body, &env, faceEnvelopeFields); err != nil {
		return zero, fmt.Errorf("%w: envelope: %w", ErrCallbackMalformed, err)
	}
	if env.Payload == "" {
		return zero, fmt.Errorf("%w: no payload", ErrCallbackMalformed)
	}
	payload, err := b64url.DecodeString(env.Payload)
	if err != nil {
		return zero, fmt.Errorf("%w: payload is not raw base64url: %w", ErrCallbackMalformed, err)
	}
	if env.Signature == "" {
		return zero, fmt.Errorf("%w: no signature", ErrCallbackSignature)
	}
	sig, err := b64url.DecodeString(env.Signature)
	if err != nil {
		return zero, fmt.Errorf("%w: signature is not raw base64url: %w", ErrCallbackMalformed, err)
	}
	if len(sig) != ed25519.SignatureSize {
		return zero, fmt.Errorf("%w: signature is %d bytes, want %d", ErrCallbackSignature, len(sig), ed25519.SignatureSize)
	}
	// The signature first: what the payload says means nothing before.
	if !ed25519.Verify(pub, payload, sig) {
		return zero, ErrCallbackSignature
	}
	var r T
	if err := decodeExact(payload, &r, zero.resultFields()); err != nil {
		return zero, fmt.Errorf("%w: payload: %w", ErrCallbackMalformed, err)
	}
	if err := r.validate(); err != nil {
		return zero, err
	}
	// Wrapped-around times of absurd IssuedAt values land far in the past,
	// so they are stale too.
	issued := time.Unix(r.issuedAt(), 0)
	if ahead := issued.Sub(now); ahead > faceClockSkew {
		return zero, fmt.Errorf("%w: issued %s in the future, more than the %s allowed for clock skew", ErrCallbackStale, ahead, faceClockSkew)
	}
	if age := now.Sub(issued); age > maxAge {
		return zero, fmt.Errorf("%w: issued %s ago, more than %s", ErrCallbackStale, age, maxAge)
	}
	return r, nil
}

// validateCommon checks what every result has: the challenge id, the
// result and the nonce; numbers are the result's own strings to check
// (name, value), none empty or not UTF-8. Errors never include a value.
func validateCommon(challenge, result, nonce string, numbers ...string) error {
	if !ValidChallengeID(challenge) {
		return fmt.Errorf("%w: challenge is not 32 lowercase hex characters", ErrCallbackResult)
	}
	for i := 0; i+1 < len(numbers); i += 2 {
		switch name, v := numbers[i], numbers[i+1]; {
		case v == "":
			return fmt.Errorf("%w: empty %s", ErrCallbackResult, name)
		case !utf8.ValidString(v):
			// json.Marshal would sign U+FFFD in its place: another number.
			return fmt.Errorf("%w: %s is not UTF-8", ErrCallbackResult, name)
		}
	}
	switch {
	case result != FacePass && result != FaceFail:
		return fmt.Errorf("%w: result %.20q is neither %q nor %q", ErrCallbackResult, result, FacePass, FaceFail)
	case len(nonce) < minFaceNonceLen:
		return fmt.Errorf("%w: nonce is %d bytes, want at least %d", ErrCallbackResult, len(nonce), minFaceNonceLen)
	case !utf8.ValidString(nonce):
		return fmt.Errorf("%w: nonce is not UTF-8", ErrCallbackResult)
	}
	return nil
}

// validate checks the fields, not the time, for VerifyFaceCallback and
// SignFaceResult. Its errors never include the ID number.
func (r FaceResult) validate() error {
	return validateCommon(r.Challenge, r.Result, r.Nonce, "id_number", r.IDNumber)
}

func (r FaceResult) issuedAt() int64      { return r.IssuedAt }
func (FaceResult) resultFields() []string { return faceResultFields }
func (FaceResult) kind() string           { return "face" }

// LogValue masks the ID number, so that logging a FaceResult whole is
// safe.
func (r FaceResult) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("challenge", r.Challenge),
		slog.String("id_number", pii.MaskID(r.IDNumber)),
		slog.String("result", r.Result),
		slog.Int64("issued_at", r.IssuedAt),
	)
}

// decodeExact decodes the JSON object data into v, which has exactly the
// given fields. Beyond DisallowUnknownFields, it refuses what encoding/json
// lets through: keys differing from a field only in case, duplicate keys
// (encoding/json keeps the last, another parser the first), and anything
// after the object.
func decodeExact(data []byte, v any, fields []string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return err
	} else if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make([]bool, len(fields))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // More and Token guarantee a key here.
		i := indexOf(fields, key)
		if i < 0 {
			// Quoted and cut short: the key is the sender's text.
			return fmt.Errorf("unknown field %.40q", key)
		}
		if seen[i] {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[i] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}

	// The keys are right; now the types.
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// indexOf returns the index of s in list, or -1.
func indexOf(list []string, s string) int {
	for i, f := range list {
		if f == s {
			return i
		}
	}
	return -1
}

// NewChallengeID returns a new face challenge id: 128 random bits as 32
// lowercase hex characters, unguessable, so that knowing one challenge
// tells nothing of another.
func NewChallengeID() (string, error) {
	var b [16]byte
	// Since Go 1.24 crypto/rand.Read never fails (it crashes the program
	// instead); the error stays for the callers' sake if that changes.
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("authsvc: new challenge id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// ValidChallengeID reports whether s has the form of a challenge id: 32
// lowercase hex characters. The caller can refuse a malformed id from a URL
// before it asks the database.
func ValidChallengeID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// NewFaceNonce returns a new FaceResult nonce: 128 random bits as 32
// lowercase hex characters.
func NewFaceNonce() string {
	// crypto/rand.Text would do, but hex keeps all our random ids alike.
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// QRCodePNG returns content as a QR code in a size × size PNG, at the medium
// (15 %) error recovery level: phones read it off a screen, where damage is
// rare and a sparser code reads better. Content too long for size pixels
// gives a larger image rather than an unreadable one.
func QRCodePNG(content string, size int) ([]byte, error) {
	if size <= 0 {
		// go-qrcode would take it as a scale, not a size.
		return nil, fmt.Errorf("authsvc: QR code size %d, want a positive number of pixels", size)
	}
	png, err := qrcode.Encode(content, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("authsvc: QR code: %w", err)
	}
	return png, nil
}

// ParseEd25519PublicKey parses a public key given as the standard base64 of
// its 32 bytes (EncodeEd25519Key), surrounding white space ignored. It
// refuses the keys of small order, such as the all-zero placeholder, under
// which anyone can forge a signature.
func ParseEd25519PublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	switch {
	case err != nil:
		return nil, fmt.Errorf("ed25519 public key: not standard base64: %w", err)
	case len(b) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("ed25519 public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	case smallOrder(b):
		return nil, errors.New("ed25519 public key: a point of small order (a placeholder?), under which signatures can be forged")
	}
	return ed25519.PublicKey(b), nil
}

// ParseEd25519PrivateKey parses a private key given as the standard base64
// of either its 64 bytes (seed then public key, as crypto/ed25519 holds it)
// or its 32-byte seed, surrounding white space ignored. Errors never
// include key material.
func ParseEd25519PrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("ed25519 private key: not standard base64: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		// A wrong public half would make every signature fail to verify,
		// far from here; catch it now.
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !bytes.Equal(k, b) {
			return nil, errors.New("ed25519 private key: the public key in its last 32 bytes is not the seed's")
		}
		return k, nil
	}
	return nil, fmt.Errorf("ed25519 private key: %d bytes, want %d (key) or %d (seed)", len(b), ed25519.PrivateKeySize, ed25519.SeedSize)
}

// EncodeEd25519Key returns a key (public, private or seed) as the standard
// base64 of its bytes, the form ParseEd25519PublicKey and
// ParseEd25519PrivateKey read.
func EncodeEd25519Key(k []byte) string {
	return base64.StdEncoding.EncodeToString(k)
}

// p25519 is 2²⁵⁵ - 19, the field prime of Curve25519 and Edwards25519.
var p25519 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))

// smallOrder reports whether the encoded Edwards25519 point pub is of small
// order (in the 8-torsion). Under such a key [k]A takes at most eight values
// whatever the message, so a signature is forged in a few tries.
// crypto/ed25519 does not refuse these keys, and the standard library has
// no Edwards point arithmetic, so the point goes to its Montgomery form
// u = (1+y)/(1-y), where X25519 refuses exactly the small-order points:
// its scalars are multiples of 8, which send them to zero.
func smallOrder(pub []byte) bool {
	// y is little-endian, the top bit being the sign of x.
	be := make([]byte, len(pub))
	for i, c := range pub {
		be[len(pub)-1-i] = c
	}
	be[0] &= 0x7f
	y := new(big.Int).SetBytes(be)
	y.Mod(y, p25519)

	one := big.NewInt(1)
	den := new(big.Int).Sub(one, y)
	den.Mod(den, p25519)
	if den.Sign() == 0 {
		return true // y = 1: the identity
	}
	u := new(big.Int).Add(one, y)
	u.Mul(u, den.ModInverse(den, p25519))
	u.Mod(u, p25519)

	var ule [32]byte
	u.FillBytes(ule[:])
	for i, j := 0, len(ule)-1; i < j; i, j = i+1, j-1 {
		ule[i], ule[j] = ule[j], ule[i]
	}
	remote, err := ecdh.X25519().NewPublicKey(ule[:])
	if err != nil {
		return true // cannot happen: ule is 32 bytes
	}
	// Any scalar does: clamping makes it 8 times one below the group
	// order, which kills the torsion part and nothing else.
	local, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{0x5a}, 32))
	if err != nil {
		return true // cannot happen: the key is 32 bytes
	}
	_, err = local.ECDH(remote)
	return err != nil // crypto/ecdh refuses an all-zero shared secret
}
