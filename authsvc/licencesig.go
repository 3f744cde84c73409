package authsvc

import (
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/idfusion/idfusion/internal/pii"
)

// LicenceResult is what the electronic business licence app (电子营业执照)
// says about one challenge: the licence scanned for it, and the legal
// representative who confirmed the scan. Signed and verified as a
// FaceResult is (facesig.go), by the same mechanism.
type LicenceResult struct {
	// Challenge is the challenge id, NewChallengeID's 32 lowercase hex
	// characters.
	Challenge string `json:"challenge"`
	// CreditCode is the unified social credit code on the licence.
	CreditCode string `json:"credit_code"`
	// RepIDNumber is the ID number of the legal representative who
	// confirmed the scan in the app. Never logged (LogValue masks it).
	RepIDNumber string `json:"rep_id_number"`
	// Result is LicencePass or LicenceFail.
	Result string `json:"result"`
	// IssuedAt is when the app signed, in Unix seconds.
	IssuedAt int64 `json:"issued_at"`
	// Nonce makes every signed result unique; at least 16 characters.
	Nonce string `json:"nonce"`
}

// The values of LicenceResult.Result.
const (
	LicencePass = FacePass
	LicenceFail = FaceFail
)

var licenceResultFields = []string{"challenge", "credit_code", "rep_id_number", "result", "issued_at", "nonce"}

func (r LicenceResult) validate() error {
	return validateCommon(r.Challenge, r.Result, r.Nonce, "credit_code", r.CreditCode, "rep_id_number", r.RepIDNumber)
}

func (r LicenceResult) issuedAt() int64      { return r.IssuedAt }
func (LicenceResult) resultFields() []string { return licenceResultFields }
func (LicenceResult) kind() string           { return "licence" }

// LogValue masks both numbers, so that logging a LicenceResult whole is
// safe.
func (r LicenceResult) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("challenge", r.Challenge),
		slog.String("credit_code", pii.MaskID(r.CreditCode)),
		slog.String("rep_id_number", pii.MaskID(r.RepIDNumber)),
		slog.String("result", r.Result),
		slog.Int64("issued_at", r.IssuedAt),
	)
}

// SignLicenceResult returns the callback body for r signed with priv: what
// the licence app sends, and the development licence simulator in its
// place.
func SignLicenceResult(priv ed25519.PrivateKey, r LicenceResult) ([]byte, error) {
	return signResult(priv, r)
}

// VerifyLicenceCallback checks a licence callback body as
// VerifyFaceCallback checks a face one (the same mechanism): a
// LicenceResult has a non-empty credit_code and rep_id_number. The caller
// must still check, in one transaction, that the challenge is pending,
// unexpired and a licence login's, that the credit code names a legal
// account, and that RepIDNumber is its representative's.
func VerifyLicenceCallback(body []byte, pub ed25519.PublicKey, now time.Time, maxAge time.Duration) (LicenceResult, error) {
	return verifySigned[LicenceResult](body, pub, now, maxAge)
}
