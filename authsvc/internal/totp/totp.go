// Package totp is RFC 6238's time-based one-time passwords as
// authenticator apps compute them: HMAC-SHA1, 6 digits, 30-second steps.
// Check accepts a code of the current step or the one before or after
// (clock skew), and never a step at or before the last one used: a code
// seen once (over a shoulder, in a proxy's log) cannot be replayed.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

const (
	// Digits is the length of a code.
	Digits = 6
	// Period is a step's length.
	Period = 30 * time.Second
	// Skew is how many steps before and after the current one a code may
	// be of.
	Skew = 1
	// SecretSize is the length of a new secret: 160 bits, RFC 4226's
	// recommendation for HMAC-SHA1.
	SecretSize = 20
)

// NewSecret returns a random secret.
func NewSecret() ([]byte, error) {
	b := make([]byte, SecretSize)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Base32 is the secret as authenticator apps take it typed: base32
// without padding.
func Base32(secret []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
}

// URI is the otpauth:// URI of the secret (Key Uri Format, as a QR code
// or a link for authenticator apps): the account is labelled
// "issuer:account".
func URI(issuer, account string, secret []byte) string {
	q := url.Values{}
	q.Set("secret", Base32(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", fmt.Sprint(Digits))
	q.Set("period", fmt.Sprint(int(Period/time.Second)))
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// Step is the time step of t.
func Step(t time.Time) int64 {
	return t.Unix() / int64(Period/time.Second)
}

// Code is the code of the step, with digits digits (RFC 4226's HOTP of
// the step as counter).
func Code(secret []byte, step int64, digits int) string {
	mac := hmac.New(sha1.New, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, v%mod)
}

// Check returns the step the code is of when it is the code of the step
// of now or of one within Skew of it, and that step is after lastUsed;
// ok is false otherwise. The caller stores the step as the last used.
func Check(secret []byte, code string, now time.Time, lastUsed int64) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != Digits {
		return 0, false
	}
	cur := Step(now)
	// Each candidate is compared, in constant time, whatever matched:
	// the time taken tells nothing of which step matched.
	for s := cur - Skew; s <= cur+Skew; s++ {
		match := subtle.ConstantTimeCompare([]byte(Code(secret, s, Digits)), []byte(code)) == 1
		if match && s > lastUsed && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}
