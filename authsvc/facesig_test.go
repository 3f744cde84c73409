package authsvc

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Fixed keys, so that fuzz seeds and failures reproduce.
var (
	faceKey      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	faceKeyPub   = faceKey.Public().(ed25519.PublicKey)
	otherFaceKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
)

var (
	// faceNow is the verifier's clock in the tests.
	faceNow = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	// faceMaxAge is the age limit in the tests.
	faceMaxAge = 3 * time.Minute
)

const (
	testChallenge = "0123456789abcdef0123456789abcdef"
	// testIDNumber is the GB 11643-1999 example number.
	testIDNumber = "11010519491231002X"
	testNonce    = "00112233445566778899aabbccddeeff"
)

// faceResult returns a valid result issued at faceNow + offset.
func faceResult(result string, offset time.Duration) FaceResult {
	return FaceResult{
		Challenge: testChallenge,
		IDNumber:  testIDNumber,
		Result:    result,
		IssuedAt:  faceNow.Add(offset).Unix(),
		Nonce:     testNonce,
	}
}

// signedBody returns SignFaceResult(faceKey, r), failing the test on error.
func signedBody(t testing.TB, r FaceResult) []byte {
	t.Helper()
	body, err := SignFaceResult(faceKey, r)
	if err != nil {
		t.Fatalf("SignFaceResult(%+v): %v", r, err)
	}
	return body
}

// envelope builds a callback body from its two fields as given.
func envelope(payload, signature string) []byte {
	b, err := json.Marshal(faceEnvelope{Payload: payload, Signature: signature})
	if err != nil {
		panic(err)
	}
	return b
}

// signRaw signs payload as it stands with priv: for payloads that
// SignFaceResult would refuse or could not produce.
func signRaw(priv ed25519.PrivateKey, payload string) []byte {
	return envelope(b64url.EncodeToString([]byte(payload)), b64url.EncodeToString(ed25519.Sign(priv, []byte(payload))))
}

// openBody splits a callback body into its payload bytes and signature.
func openBody(t testing.TB, body []byte) (payload, sig []byte) {
	t.Helper()
	var env faceEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	payload, err := b64url.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err = b64url.DecodeString(env.Signature)
	if err != nil {
		t.Fatal(err)
	}
	return payload, sig
}

// validPayload is faceResult(FacePass, 0) as JSON, for payloads written by
// hand.
const validPayload = `{"challenge":"0123456789abcdef0123456789abcdef","id_number":"11010519491231002X","result":"pass","issued_at":1740821400,"nonce":"00112233445566778899aabbccddeeff"}`

// faceSentinels are VerifyFaceCallback's errors.
var faceSentinels = []error{ErrCallbackMalformed, ErrCallbackSignature, ErrCallbackStale, ErrCallbackResult}

type verifyResult[T any] struct {
	Result T
	Err    error
}

// testCreditCode is the credit code of the licence results in the tests.
const testCreditCode = "91460000MA5T2CK28W"

// licenceResult returns a valid licence result issued at faceNow + offset.
func licenceResult(result string, offset time.Duration) LicenceResult {
	return LicenceResult{
		Challenge:   testChallenge,
		CreditCode:  testCreditCode,
		RepIDNumber: testIDNumber,
		Result:      result,
		IssuedAt:    faceNow.Add(offset).Unix(),
		Nonce:       testNonce,
	}
}

// sigKit is one result type for the verifier's tables, which every type
// signed by the one mechanism (verifySigned) must pass.
type sigKit[T signedResult] struct {
	result func(result string, offset time.Duration) T
	// validPayload is result(FacePass, 0) as JSON; reordered the same
	// with its fields in another order.
	validPayload, reordered string
	// numbers are the result's number fields and their values in
	// validPayload; chinese a valid result with Chinese numbers.
	numbers [][2]string
	chinese T
	verify  func([]byte, ed25519.PublicKey, time.Time, time.Duration) (T, error)
	sign    func(ed25519.PrivateKey, T) ([]byte, error)
}

var (
	faceKit = sigKit[FaceResult]{
		result: faceResult, validPayload: validPayload,
		reordered: `{"nonce":"00112233445566778899aabbccddeeff","result":"pass","issued_at":1740821400,"id_number":"11010519491231002X","challenge":"0123456789abcdef0123456789abcdef"}`,
		numbers:   [][2]string{{"id_number", testIDNumber}},
		chinese:   FaceResult{Challenge: testChallenge, IDNumber: "港１２３", Result: FacePass, IssuedAt: faceNow.Unix(), Nonce: testNonce},
		verify:    VerifyFaceCallback, sign: SignFaceResult,
	}
	licenceKit = sigKit[LicenceResult]{
		result:       licenceResult,
		validPayload: `{"challenge":"0123456789abcdef0123456789abcdef","credit_code":"91460000MA5T2CK28W","rep_id_number":"11010519491231002X","result":"pass","issued_at":1740821400,"nonce":"00112233445566778899aabbccddeeff"}`,
		reordered:    `{"nonce":"00112233445566778899aabbccddeeff","rep_id_number":"11010519491231002X","result":"pass","issued_at":1740821400,"credit_code":"91460000MA5T2CK28W","challenge":"0123456789abcdef0123456789abcdef"}`,
		numbers:      [][2]string{{"credit_code", testCreditCode}, {"rep_id_number", testIDNumber}},
		chinese:      LicenceResult{Challenge: testChallenge, CreditCode: "９１４６", RepIDNumber: "港１２３", Result: FacePass, IssuedAt: faceNow.Unix(), Nonce: testNonce},
		verify:       VerifyLicenceCallback, sign: SignLicenceResult,
	}
)

// TestVerifyCallback runs the verifier's table for every result type.
func TestVerifyCallback(t *testing.T) {
	t.Parallel()
	t.Run("face", func(t *testing.T) { t.Parallel(); testVerifyCallback(t, faceKit) })
	t.Run("licence", func(t *testing.T) { t.Parallel(); testVerifyCallback(t, licenceKit) })
}

func testVerifyCallback[T signedResult](t *testing.T, k sigKit[T]) {
	validPayload := k.validPayload
	faceResult := k.result
	signedBody := func(t testing.TB, r T) []byte {
		t.Helper()
		body, err := k.sign(faceKey, r)
		if err != nil {
			t.Fatalf("sign(%+v): %v", r, err)
		}
		return body
	}
	pass := faceResult(FacePass, 0)
	passBody := signedBody(t, pass)
	passPayload, passSig := openBody(t, passBody)
	passPayloadB64 := b64url.EncodeToString(passPayload)

	// tampered re-encodes the payload with old replaced by new, keeping
	// the signature of the original.
	tampered := func(old, new string) []byte {
		p := strings.Replace(string(passPayload), old, new, 1)
		if p == string(passPayload) {
			t.Fatalf("%q is not in the payload", old)
		}
		return envelope(b64url.EncodeToString([]byte(p)), b64url.EncodeToString(passSig))
	}
	// withField signs validPayload with one more field, or a field
	// replaced: new is written before the closing brace.
	withField := func(old, new string) []byte {
		p := validPayload
		if old != "" {
			p = strings.Replace(p, old, "", 1)
		}
		return signRaw(faceKey, strings.TrimSuffix(p, "}")+new+"}")
	}
	if got := signRaw(faceKey, validPayload); !bytes.Equal(got, passBody) {
		t.Fatalf("validPayload is not result(FacePass, 0):\n%s\n%s", got, passBody)
	}

	type testCase struct {
		name   string
		body   []byte
		want   T
		err    error
		maxAge time.Duration // default faceMaxAge
	}
	var zero T
	tests := []testCase{
		{name: "pass", body: passBody, want: pass},
		{name: "fail is a valid answer", body: signedBody(t, faceResult(FaceFail, 0)), want: faceResult(FaceFail, 0)},
		{name: "exactly max age", body: signedBody(t, faceResult(FacePass, -faceMaxAge)), want: faceResult(FacePass, -faceMaxAge)},
		{name: "30 s ahead is clock skew", body: signedBody(t, faceResult(FacePass, 30*time.Second)), want: faceResult(FacePass, 30*time.Second)},
		{name: "Chinese numbers", body: signedBody(t, k.chinese), want: k.chinese},
		{name: "fields in another order", body: signRaw(faceKey, k.reordered), want: pass},
		{name: "envelope fields in another order", body: []byte(`{"signature":"` + b64url.EncodeToString(passSig) + `","payload":"` + passPayloadB64 + `"}`), want: pass},

		// Bad signatures.
		{name: "id_number changed after signing", body: tampered(testIDNumber, "460102199001011234"), err: ErrCallbackSignature},
		{name: "fail changed to pass after signing", body: func() []byte {
			b := signedBody(t, faceResult(FaceFail, 0))
			p, sig := openBody(t, b)
			return envelope(b64url.EncodeToString(bytes.Replace(p, []byte(`"fail"`), []byte(`"pass"`), 1)), b64url.EncodeToString(sig))
		}(), err: ErrCallbackSignature},
		{name: "issued_at changed after signing", body: tampered(`"issued_at":1740821400`, `"issued_at":1740821401`), err: ErrCallbackSignature},
		{name: "white space added after signing", body: tampered(`{`, `{ `), err: ErrCallbackSignature},
		{name: "signed by another key", body: signRaw(otherFaceKey, validPayload), err: ErrCallbackSignature},
		{name: "signature truncated", body: envelope(passPayloadB64, b64url.EncodeToString(passSig[:ed25519.SignatureSize-1])), err: ErrCallbackSignature},
		{name: "signature lengthened", body: envelope(passPayloadB64, b64url.EncodeToString(append(passSig[:len(passSig):len(passSig)], 0))), err: ErrCallbackSignature},
		{name: "signature empty", body: envelope(passPayloadB64, ""), err: ErrCallbackSignature},
		{name: "signature missing", body: []byte(`{"payload":"` + passPayloadB64 + `"}`), err: ErrCallbackSignature},
		{name: "signature null", body: []byte(`{"payload":"` + passPayloadB64 + `","signature":null}`), err: ErrCallbackSignature},
		{name: "signature all zero", body: envelope(passPayloadB64, b64url.EncodeToString(make([]byte, ed25519.SignatureSize))), err: ErrCallbackSignature},

		// Time.
		{name: "stale", body: signedBody(t, faceResult(FacePass, -4*time.Minute)), err: ErrCallbackStale},
		{name: "a second too old", body: signedBody(t, faceResult(FacePass, -faceMaxAge-time.Second)), err: ErrCallbackStale},
		{name: "negative max age refuses all", body: passBody, maxAge: -time.Second, err: ErrCallbackStale},
		{name: "from the future", body: signedBody(t, faceResult(FacePass, 2*time.Minute)), err: ErrCallbackStale},
		{name: "31 s ahead", body: signedBody(t, faceResult(FacePass, 31*time.Second)), err: ErrCallbackStale},
		{name: "issued_at zero", body: signedBody(t, faceResult(FacePass, -faceNow.Sub(time.Unix(0, 0)))), err: ErrCallbackStale},
		{name: "issued_at maximal", body: withField(`"issued_at":1740821400,`, `,"issued_at":9223372036854775807`), err: ErrCallbackStale},
		{name: "issued_at minimal", body: withField(`"issued_at":1740821400,`, `,"issued_at":-9223372036854775808`), err: ErrCallbackStale},

		// Malformed.
		{name: "empty body", body: nil, err: ErrCallbackMalformed},
		{name: "not JSON", body: []byte("challenge=0123&result=pass"), err: ErrCallbackMalformed},
		{name: "JSON array", body: []byte(`["` + passPayloadB64 + `","` + b64url.EncodeToString(passSig) + `"]`), err: ErrCallbackMalformed},
		{name: "JSON null", body: []byte("null"), err: ErrCallbackMalformed},
		{name: "truncated JSON", body: passBody[:len(passBody)-1], err: ErrCallbackMalformed},
		{name: "data after the envelope", body: append(bytes.Clone(passBody), "{}"...), err: ErrCallbackMalformed},
		{name: "extra field in the envelope", body: []byte(`{"payload":"` + passPayloadB64 + `","signature":"` + b64url.EncodeToString(passSig) + `","alg":"Ed25519"}`), err: ErrCallbackMalformed},
		{name: "envelope field in another case", body: []byte(`{"Payload":"` + passPayloadB64 + `","signature":"` + b64url.EncodeToString(passSig) + `"}`), err: ErrCallbackMalformed},
		{name: "envelope field twice", body: []byte(`{"payload":"e30","payload":"` + passPayloadB64 + `","signature":"` + b64url.EncodeToString(passSig) + `"}`), err: ErrCallbackMalformed},
		{name: "payload a number", body: []byte(`{"payload":1,"signature":"` + b64url.EncodeToString(passSig) + `"}`), err: ErrCallbackMalformed},
		{name: "payload missing", body: []byte(`{"signature":"` + b64url.EncodeToString(passSig) + `"}`), err: ErrCallbackMalformed},
		{name: "payload empty", body: envelope("", b64url.EncodeToString(passSig)), err: ErrCallbackMalformed},
		{name: "payload padded base64", body: envelope(base64.URLEncoding.EncodeToString(passPayload), b64url.EncodeToString(passSig)), err: ErrCallbackMalformed},
		{name: "payload standard base64", body: envelope(base64.RawStdEncoding.EncodeToString(passPayload)+"+/", b64url.EncodeToString(passSig)), err: ErrCallbackMalformed},
		{name: "payload not base64", body: envelope("{"+passPayloadB64[1:], b64url.EncodeToString(passSig)), err: ErrCallbackMalformed},
		{name: "signature not base64", body: envelope(passPayloadB64, "!"+b64url.EncodeToString(passSig)[1:]), err: ErrCallbackMalformed},
		{name: "signature padded base64", body: envelope(passPayloadB64, base64.URLEncoding.EncodeToString(passSig)), err: ErrCallbackMalformed},
		{name: "body over 8 KiB", body: append(bytes.Clone(passBody), bytes.Repeat([]byte(" "), MaxFaceCallbackSize)...), err: ErrCallbackMalformed},
		{name: "signed payload not JSON", body: signRaw(faceKey, "pass"), err: ErrCallbackMalformed},
		{name: "signed payload an array", body: signRaw(faceKey, "["+validPayload+"]"), err: ErrCallbackMalformed},
		{name: "signed payload with data after", body: signRaw(faceKey, validPayload+"{}"), err: ErrCallbackMalformed},
		{name: "unknown field in payload", body: withField("", `,"liveness":0.99`), err: ErrCallbackMalformed},
		{name: "payload field twice", body: withField("", `,"result":"fail"`), err: ErrCallbackMalformed},
		{name: "payload field in another case", body: withField(`"result":"pass",`, `,"Result":"pass"`), err: ErrCallbackMalformed},
		{name: "issued_at a string", body: withField(`"issued_at":1740821400,`, `,"issued_at":"1740821400"`), err: ErrCallbackMalformed},
		{name: "issued_at a fraction", body: withField(`"issued_at":1740821400,`, `,"issued_at":1740821400.5`), err: ErrCallbackMalformed},
		{name: "result a boolean", body: withField(`"result":"pass",`, `,"result":true`), err: ErrCallbackMalformed},

		// Signed but invalid results.
		{name: "challenge upper case", body: withField(`"challenge":"0123456789abcdef0123456789abcdef",`, `,"challenge":"0123456789ABCDEF0123456789ABCDEF"`), err: ErrCallbackResult},
		{name: "challenge 31 characters", body: withField(`"challenge":"0123456789abcdef0123456789abcdef",`, `,"challenge":"0123456789abcdef0123456789abcde"`), err: ErrCallbackResult},
		{name: "challenge 33 characters", body: withField(`"challenge":"0123456789abcdef0123456789abcdef",`, `,"challenge":"0123456789abcdef0123456789abcdef0"`), err: ErrCallbackResult},
		{name: "challenge not hex", body: withField(`"challenge":"0123456789abcdef0123456789abcdef",`, `,"challenge":"0123456789abcdef0123456789abcdeg"`), err: ErrCallbackResult},
		{name: "challenge a UUID", body: withField(`"challenge":"0123456789abcdef0123456789abcdef",`, `,"challenge":"01234567-89ab-cdef-0123-456789abcdef"`), err: ErrCallbackResult},
		{name: "challenge missing", body: withField(`"challenge":"0123456789abcdef0123456789abcdef",`, ``), err: ErrCallbackResult},
		{name: "result maybe", body: withField(`"result":"pass",`, `,"result":"maybe"`), err: ErrCallbackResult},
		{name: "result upper case", body: withField(`"result":"pass",`, `,"result":"PASS"`), err: ErrCallbackResult},
		{name: "result empty", body: withField(`"result":"pass",`, `,"result":""`), err: ErrCallbackResult},
		{name: "nonce 15 characters", body: withField(`,"nonce":"00112233445566778899aabbccddeeff"`, `,"nonce":"001122334455667"`), err: ErrCallbackResult},
		{name: "nonce missing", body: withField(`,"nonce":"00112233445566778899aabbccddeeff"`, ``), err: ErrCallbackResult},
	}
	for _, n := range k.numbers {
		field := `"` + n[0] + `":"` + n[1] + `",`
		tests = append(tests,
			testCase{name: "empty " + n[0], body: withField(field, `,"`+n[0]+`":""`), err: ErrCallbackResult},
			testCase{name: n[0] + " null", body: withField(field, `,"`+n[0]+`":null`), err: ErrCallbackResult},
			testCase{name: n[0] + " missing", body: withField(field, ``), err: ErrCallbackResult},
			testCase{name: n[0] + " a number", body: withField(field, `,"`+n[0]+`":460000`), err: ErrCallbackMalformed})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			maxAge := tt.maxAge
			if maxAge == 0 {
				maxAge = faceMaxAge
			}
			r, err := k.verify(tt.body, faceKeyPub, faceNow, maxAge)
			if diff := cmp.Diff(verifyResult[T]{tt.want, tt.err}, verifyResult[T]{r, err}, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("verify(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
			for _, n := range k.numbers {
				if err != nil && strings.Contains(err.Error(), n[1]) {
					t.Errorf("error %q contains the %s", err, n[0])
				}
			}
			if err != nil && r != zero {
				t.Errorf("rejected with %q but returned %+v", err, r)
			}
		})
	}
}

// TestVerifyFaceCallbackReplay pins that a replayed body is NOT detected
// here: VerifyFaceCallback is pure, so the same body verifies every time it
// is presented within maxAge. Replay is stopped by the caller, which locks
// the challenge, checks that it is pending and marks it answered in one
// transaction, so a second delivery finds nothing left to answer.
func TestVerifyFaceCallbackReplay(t *testing.T) {
	t.Parallel()
	body := signedBody(t, faceResult(FacePass, -time.Minute))
	var got []verifyResult[FaceResult]
	for range 2 {
		r, err := VerifyFaceCallback(body, faceKeyPub, faceNow, faceMaxAge)
		got = append(got, verifyResult[FaceResult]{r, err})
	}
	want := []verifyResult[FaceResult]{{faceResult(FacePass, -time.Minute), nil}, {faceResult(FacePass, -time.Minute), nil}}
	if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// TestVerifyFaceCallbackBadKey checks that a misconfigured key is an error,
// not a panic in crypto/ed25519, and is not blamed on the sender.
func TestVerifyCallbackBadKey(t *testing.T) {
	t.Parallel()
	t.Run("face", func(t *testing.T) { t.Parallel(); testVerifyCallbackBadKey(t, faceKit) })
	t.Run("licence", func(t *testing.T) { t.Parallel(); testVerifyCallbackBadKey(t, licenceKit) })
}

func testVerifyCallbackBadKey[T signedResult](t *testing.T, k sigKit[T]) {
	body, err := k.sign(faceKey, k.result(FacePass, 0))
	if err != nil {
		t.Fatal(err)
	}
	var zero T
	tests := []struct {
		name string
		pub  ed25519.PublicKey
	}{
		{"nil", nil},
		{"short", faceKeyPub[:31]},
		{"private key", ed25519.PublicKey(faceKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := k.verify(body, tt.pub, faceNow, faceMaxAge)
			want := fmt.Sprintf("authsvc: %s public key is %d bytes, want 32", zero.kind(), len(tt.pub))
			if diff := cmp.Diff(want, errString(err)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			for _, s := range faceSentinels {
				if errors.Is(err, s) {
					t.Errorf("error %q wraps %v", err, s)
				}
			}
		})
	}
}

func TestSignFaceResultRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		priv ed25519.PrivateKey
		r    FaceResult
		want string
	}{
		{"seed instead of key", faceKey.Seed(), faceResult(FacePass, 0), "authsvc: face signing key is 32 bytes, want 64"},
		{"challenge", faceKey, FaceResult{Challenge: "abc", IDNumber: testIDNumber, Result: FacePass, Nonce: testNonce},
			"invalid callback result: challenge is not 32 lowercase hex characters"},
		{"id_number", faceKey, FaceResult{Challenge: testChallenge, Result: FacePass, Nonce: testNonce},
			"invalid callback result: empty id_number"},
		{"id_number not UTF-8", faceKey, FaceResult{Challenge: testChallenge, IDNumber: "\xff", Result: FacePass, Nonce: testNonce},
			"invalid callback result: id_number is not UTF-8"},
		{"result", faceKey, FaceResult{Challenge: testChallenge, IDNumber: testIDNumber, Result: "maybe", Nonce: testNonce},
			`invalid callback result: result "maybe" is neither "pass" nor "fail"`},
		{"nonce", faceKey, FaceResult{Challenge: testChallenge, IDNumber: testIDNumber, Result: FacePass, Nonce: "short"},
			"invalid callback result: nonce is 5 bytes, want at least 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := SignFaceResult(tt.priv, tt.r)
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
			if body != nil {
				t.Errorf("SignFaceResult returned a body with its error: %s", body)
			}
		})
	}
}

// TestFaceResultLogValue checks that logging a result masks the ID number.
func TestFaceResultLogValue(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("face_callback", slog.Any("face", faceResult(FacePass, 0)))
	want := "level=INFO msg=face_callback face.challenge=0123456789abcdef0123456789abcdef face.id_number=1*****X face.result=pass face.issued_at=1740821400\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

// FuzzVerifyFaceCallback checks that verification never panics, that every
// rejection wraps exactly one of the sentinels, and that anything accepted
// is what the key signed: a payload whose signature verifies, decoding to
// the returned result, with a valid challenge and result.
func FuzzVerifyFaceCallback(f *testing.F) {
	pass := signedBody(f, faceResult(FacePass, 0))
	payload, sig := openBody(f, pass)
	for _, seed := range [][]byte{
		pass,
		signedBody(f, faceResult(FaceFail, -time.Minute)),
		signedBody(f, faceResult(FacePass, -4*time.Minute)),
		signRaw(faceKey, strings.Replace(validPayload, `"pass"`, `"maybe"`, 1)),
		signRaw(faceKey, strings.Replace(validPayload, `"result"`, `"Result"`, 1)),
		signRaw(faceKey, validPayload[:len(validPayload)-1]+`,"x":1}`),
		signRaw(otherFaceKey, validPayload),
		envelope(b64url.EncodeToString(payload), b64url.EncodeToString(sig[:40])),
		envelope(b64url.EncodeToString(payload)+"=", b64url.EncodeToString(sig)),
		[]byte(`{"payload":"","signature":""}`),
		[]byte(`{"payload":null}`),
		[]byte(`{}`),
		[]byte(`[]`),
		[]byte(`"`),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := VerifyFaceCallback(body, faceKeyPub, faceNow, faceMaxAge)
		if err != nil {
			n := 0
			for _, s := range faceSentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q wraps %d sentinels, want 1", err, n)
			}
			if r != (FaceResult{}) {
				t.Fatalf("rejected with %q but returned %+v", err, r)
			}
			return
		}
		var env faceEnvelope
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("accepted a body that is not JSON: %v", err)
		}
		payload, err1 := base64.RawURLEncoding.DecodeString(env.Payload)
		sig, err2 := base64.RawURLEncoding.DecodeString(env.Signature)
		if err1 != nil || err2 != nil || !ed25519.Verify(faceKeyPub, payload, sig) {
			t.Fatalf("accepted a body whose signature does not verify: %s", body)
		}
		var signed FaceResult
		if err := json.Unmarshal(payload, &signed); err != nil || signed != r {
			t.Fatalf("returned %+v, but the payload says %+v (%v)", r, signed, err)
		}
		if !ValidChallengeID(r.Challenge) || (r.Result != FacePass && r.Result != FaceFail) || r.IDNumber == "" {
			t.Fatalf("accepted an invalid result %+v", r)
		}
	})
}

// FuzzFaceRoundTrip checks that whatever SignFaceResult signs,
// VerifyFaceCallback returns unchanged while fresh.
func FuzzFaceRoundTrip(f *testing.F) {
	f.Add(testChallenge, testIDNumber, FacePass, int64(0), testNonce)
	f.Add(testChallenge, "港１２３<&>\u2028\"\\", FaceFail, int64(-180), testNonce+"\x00")
	f.Fuzz(func(t *testing.T, challenge, id, result string, offset int64, nonce string) {
		r := FaceResult{Challenge: challenge, IDNumber: id, Result: result, IssuedAt: faceNow.Unix() + offset%400, Nonce: nonce}
		body, err := SignFaceResult(faceKey, r)
		if err != nil {
			if !errors.Is(err, ErrCallbackResult) {
				t.Fatalf("SignFaceResult(%+v): %v, want ErrCallbackResult", r, err)
			}
			return
		}
		got, err := VerifyFaceCallback(body, faceKeyPub, faceNow, faceMaxAge)
		if len(body) > MaxFaceCallbackSize {
			if !errors.Is(err, ErrCallbackMalformed) {
				t.Fatalf("a %d-byte body: %v, want ErrCallbackMalformed", len(body), err)
			}
			return
		}
		age := faceNow.Unix() - r.IssuedAt
		if age > int64(faceMaxAge/time.Second) || age < -int64(faceClockSkew/time.Second) {
			if !errors.Is(err, ErrCallbackStale) {
				t.Fatalf("issued %d s ago: %v, want ErrCallbackStale", age, err)
			}
			return
		}
		if diff := cmp.Diff(verifyResult[FaceResult]{r, nil}, verifyResult[FaceResult]{got, err}, cmpopts.EquateErrors()); diff != "" {
			t.Fatalf("round trip mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestNewChallengeID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id, err := NewChallengeID()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidChallengeID(id) {
			t.Fatalf("NewChallengeID() = %q, not a valid challenge id", id)
		}
		if seen[id] {
			t.Fatalf("NewChallengeID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestNewFaceNonce(t *testing.T) {
	t.Parallel()
	a, b := NewFaceNonce(), NewFaceNonce()
	if len(a) < minFaceNonceLen || a == b {
		t.Fatalf("NewFaceNonce() = %q, %q: want two distinct nonces of at least %d bytes", a, b, minFaceNonceLen)
	}
	// A nonce from here passes VerifyFaceCallback.
	r := faceResult(FacePass, 0)
	r.Nonce = a
	if _, err := VerifyFaceCallback(signedBody(t, r), faceKeyPub, faceNow, faceMaxAge); err != nil {
		t.Fatal(err)
	}
}

func TestQRCodePNG(t *testing.T) {
	t.Parallel()
	url := "https://login.example.gov.cn/face/" + testChallenge
	tests := []struct {
		name    string
		content string
		size    int
		want    int // the image's width and height; 0 for "larger than size"
	}{
		{"challenge URL", url, 256, 256},
		{"small", "x", 64, 64},
		{"too long for the size gets larger", strings.Repeat(url, 10), 32, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := QRCodePNG(tt.content, tt.size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			bounds := img.Bounds()
			if tt.want == 0 {
				if bounds.Dx() <= tt.size || bounds.Dx() != bounds.Dy() {
					t.Errorf("image is %v, want a square larger than %d", bounds, tt.size)
				}
				return
			}
			if diff := cmp.Diff([2]int{tt.want, tt.want}, [2]int{bounds.Dx(), bounds.Dy()}); diff != "" {
				t.Errorf("size mismatch (-want +got):\n%s", diff)
			}
			// Both colours appear: a code, not a blank square.
			dark := map[bool]bool{}
			for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
				for x := bounds.Min.X; x < bounds.Max.X; x++ {
					r, _, _, _ := img.At(x, y).RGBA()
					dark[r < 0x8000] = true
				}
			}
			if !dark[true] || !dark[false] {
				t.Errorf("image is of one colour")
			}
		})
	}
}

func TestQRCodePNGRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		size    int
		want    string
	}{
		{"zero size", "x", 0, "authsvc: QR code size 0, want a positive number of pixels"},
		{"negative size", "x", -5, "authsvc: QR code size -5, want a positive number of pixels"},
		{"too long for any QR code", strings.Repeat("x", 8000), 256, "authsvc: QR code: content too long to encode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := QRCodePNG(tt.content, tt.size)
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEd25519KeyRoundTrip(t *testing.T) {
	t.Parallel()
	pub, err := ParseEd25519PublicKey(EncodeEd25519Key(faceKeyPub))
	if diff := cmp.Diff(verifyKey{faceKeyPub, ""}, verifyKey{pub, errString(err)}); diff != "" {
		t.Errorf("public key mismatch (-want +got):\n%s", diff)
	}
	for _, enc := range []string{EncodeEd25519Key(faceKey), EncodeEd25519Key(faceKey.Seed()), " " + EncodeEd25519Key(faceKey) + "\n"} {
		priv, err := ParseEd25519PrivateKey(enc)
		if diff := cmp.Diff(verifyKey{faceKey, ""}, verifyKey{priv, errString(err)}); diff != "" {
			t.Errorf("private key %q mismatch (-want +got):\n%s", enc, diff)
		}
	}
}

type verifyKey struct {
	Key []byte
	Err string
}

func TestParseEd25519PublicKey(t *testing.T) {
	t.Parallel()
	b64 := EncodeEd25519Key
	// order2 is y = -1: the point (0, -1).
	order2 := bytes.Repeat([]byte{0xff}, 32)
	order2[0], order2[31] = 0xec, 0x7f
	identity := make([]byte, 32)
	identity[0] = 1
	// nonCanonicalIdentity is y = p + 1, which crypto/ed25519 reads as 1.
	nonCanonicalIdentity := bytes.Clone(order2)
	nonCanonicalIdentity[0] = 0xee
	const weak = "ed25519 public key: a point of small order (a placeholder?), under which signatures can be forged"
	tests := []struct {
		name string
		in   string
		want verifyKey
	}{
		{"key", b64(faceKeyPub), verifyKey{faceKeyPub, ""}},
		{"other key", b64(otherFaceKey.Public().(ed25519.PublicKey)), verifyKey{otherFaceKey.Public().(ed25519.PublicKey), ""}},
		{"surrounding white space", "\t" + b64(faceKeyPub) + "\r\n", verifyKey{faceKeyPub, ""}},
		{"sign bit set", b64(append(bytes.Clone(faceKeyPub[:31]), faceKeyPub[31]^0x80)), verifyKey{append(bytes.Clone(faceKeyPub[:31]), faceKeyPub[31]^0x80), ""}},
		{"empty", "", verifyKey{nil, "ed25519 public key: 0 bytes, want 32"}},
		{"not base64", "not a key!", verifyKey{nil, "ed25519 public key: not standard base64: illegal base64 data at input byte 3"}},
		{"base64url", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), verifyKey{nil, "ed25519 public key: not standard base64: illegal base64 data at input byte 0"}},
		{"31 bytes", b64(faceKeyPub[:31]), verifyKey{nil, "ed25519 public key: 31 bytes, want 32"}},
		{"33 bytes", b64(append(bytes.Clone(faceKeyPub), 0)), verifyKey{nil, "ed25519 public key: 33 bytes, want 32"}},
		{"private key", b64(faceKey), verifyKey{nil, "ed25519 public key: 64 bytes, want 32"}},
		{"all-zero placeholder", b64(make([]byte, 32)), verifyKey{nil, weak}},
		{"all-zero placeholder, sign bit set", b64(append(make([]byte, 31), 0x80)), verifyKey{nil, weak}},
		{"identity", b64(identity), verifyKey{nil, weak}},
		{"identity not canonical", b64(nonCanonicalIdentity), verifyKey{nil, weak}},
		{"order 2", b64(order2), verifyKey{nil, weak}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEd25519PublicKey(tt.in)
			if diff := cmp.Diff(tt.want, verifyKey{got, errString(err)}); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSmallOrderForgery shows why small-order keys are refused: under the
// identity key, one signature made without any private key verifies for
// every message.
func TestSmallOrderForgery(t *testing.T) {
	t.Parallel()
	identity := make(ed25519.PublicKey, 32)
	identity[0] = 1
	// R = the identity point, S = 0: [S]B = R + [k]A holds for any k.
	forged := make([]byte, 64)
	forged[0] = 1
	for _, msg := range []string{validPayload, "anything"} {
		if !ed25519.Verify(identity, []byte(msg), forged) {
			t.Fatalf("the forgery does not verify for %q; the test's premise is wrong", msg)
		}
	}
	if !smallOrder(identity) || smallOrder(faceKeyPub) {
		t.Fatal("smallOrder misclassifies")
	}
}

func TestParseEd25519PrivateKey(t *testing.T) {
	t.Parallel()
	b64 := EncodeEd25519Key
	mismatched := append(bytes.Clone(faceKey.Seed()), otherFaceKey.Public().(ed25519.PublicKey)...)
	tests := []struct {
		name string
		in   string
		want verifyKey
	}{
		{"key", b64(faceKey), verifyKey{faceKey, ""}},
		{"seed", b64(faceKey.Seed()), verifyKey{faceKey, ""}},
		{"surrounding white space", "\n" + b64(faceKey.Seed()) + "\n", verifyKey{faceKey, ""}},
		{"empty", "", verifyKey{nil, "ed25519 private key: 0 bytes, want 64 (key) or 32 (seed)"}},
		{"not base64", "****", verifyKey{nil, "ed25519 private key: not standard base64: illegal base64 data at input byte 0"}},
		{"raw base64", base64.RawStdEncoding.EncodeToString(faceKey.Seed()), verifyKey{nil, "ed25519 private key: not standard base64: illegal base64 data at input byte 40"}},
		{"48 bytes", b64(faceKey[:48]), verifyKey{nil, "ed25519 private key: 48 bytes, want 64 (key) or 32 (seed)"}},
		{"31 bytes", b64(faceKey[:31]), verifyKey{nil, "ed25519 private key: 31 bytes, want 64 (key) or 32 (seed)"}},
		{"public half of another key", b64(mismatched), verifyKey{nil, "ed25519 private key: the public key in its last 32 bytes is not the seed's"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseEd25519PrivateKey(tt.in)
			if diff := cmp.Diff(tt.want, verifyKey{got, errString(err)}); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// errString is err's text, or "" for nil, for comparing errors by message.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestFaceTestVectors guards the hand-written payload against faceNow
// changing.
func TestFaceTestVectors(t *testing.T) {
	t.Parallel()
	want := faceResult(FacePass, 0)
	var got FaceResult
	if err := json.Unmarshal([]byte(validPayload), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validPayload mismatch (-want +got):\n%s", diff)
	}
	if !utf8.ValidString(testNonce) || len(testNonce) < minFaceNonceLen {
		t.Errorf("testNonce %q is not a valid nonce", testNonce)
	}
}

// TestSignLicenceResultRefuses: the licence result's own fields.
func TestSignLicenceResultRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		priv ed25519.PrivateKey
		r    LicenceResult
		want string
	}{
		{"seed instead of key", faceKey.Seed(), licenceResult(FacePass, 0), "authsvc: licence signing key is 32 bytes, want 64"},
		{"credit_code", faceKey, LicenceResult{Challenge: testChallenge, RepIDNumber: testIDNumber, Result: FacePass, Nonce: testNonce},
			"invalid callback result: empty credit_code"},
		{"rep_id_number", faceKey, LicenceResult{Challenge: testChallenge, CreditCode: testCreditCode, Result: FacePass, Nonce: testNonce},
			"invalid callback result: empty rep_id_number"},
		{"rep_id_number not UTF-8", faceKey, LicenceResult{Challenge: testChallenge, CreditCode: testCreditCode, RepIDNumber: "\xff", Result: FacePass, Nonce: testNonce},
			"invalid callback result: rep_id_number is not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := SignLicenceResult(tt.priv, tt.r)
			if diff := cmp.Diff(tt.want, errString(err)); diff != "" || body != nil {
				t.Errorf("mismatch (-want +got):\n%s (body %s)", diff, body)
			}
		})
	}
}

// TestLicenceResultLogValue checks that logging a result masks both
// numbers.
func TestLicenceResultLogValue(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("licence_callback", slog.Any("licence", licenceResult(FacePass, 0)))
	if out := buf.String(); strings.Contains(out, testCreditCode) || strings.Contains(out, testIDNumber) || !strings.Contains(out, "licence.challenge="+testChallenge) {
		t.Errorf("log line %q: want the challenge and neither number", out)
	}
}

// FuzzLicenceRoundTrip checks that whatever SignLicenceResult signs,
// VerifyLicenceCallback returns unchanged while fresh, and that every
// refusal wraps exactly one sentinel.
func FuzzLicenceRoundTrip(f *testing.F) {
	f.Add(testChallenge, testCreditCode, testIDNumber, FacePass, int64(0), testNonce)
	f.Add(testChallenge, "９１４６<&>", "港１２３\u2028\"\\", FaceFail, int64(-180), testNonce+"\x00")
	f.Add(testChallenge, "", testIDNumber, FacePass, int64(0), testNonce)
	f.Fuzz(func(t *testing.T, challenge, code, rep, result string, offset int64, nonce string) {
		r := LicenceResult{Challenge: challenge, CreditCode: code, RepIDNumber: rep, Result: result, IssuedAt: faceNow.Unix() + offset%400, Nonce: nonce}
		body, err := SignLicenceResult(faceKey, r)
		if err != nil {
			if !errors.Is(err, ErrCallbackResult) {
				t.Fatalf("SignLicenceResult(%+v): %v, want ErrCallbackResult", r, err)
			}
			return
		}
		got, err := VerifyLicenceCallback(body, faceKeyPub, faceNow, faceMaxAge)
		if err != nil {
			n := 0
			for _, s := range faceSentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 || got != (LicenceResult{}) {
				t.Fatalf("error %q wraps %d sentinels, returned %+v", err, n, got)
			}
			age := faceNow.Unix() - r.IssuedAt
			if len(body) <= MaxFaceCallbackSize && age <= int64(faceMaxAge/time.Second) && age >= -int64(faceClockSkew/time.Second) {
				t.Fatalf("a fresh signed result refused: %v", err)
			}
			return
		}
		if got != r {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
	})
}
