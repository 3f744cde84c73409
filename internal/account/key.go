package account

import (
	"strings"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/internal/database"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/schemas"
)

// NormalizeID is the form of an ID number whose blind index finds its
// account: cleanse.ParseID's (white space and invisible characters
// dropped, full-width forms folded, x upper-cased, a 15-digit legacy
// number converted to its 18 characters), the very rule the pipeline
// stored the account by, so a number is found however it was exported or
// typed. A number that is not valid is only normalized
// (cleanse.NormalizeID): it finds no account.
func NormalizeID(typed string) string {
	if info, code := cleanse.ParseID(typed, "", false); code == "" {
		return info.Number
	}
	return cleanse.NormalizeID(typed)
}

// CheckID checks a typed ID number of the declared kind by the
// pipeline's rules (cleanse.ParseID, the very checks an import applies)
// and returns its canonical form; ok false when the pipeline would
// reject it.
func CheckID(typed string, kind schemas.IDType) (number string, ok bool) {
	info, code := cleanse.ParseID(typed, kind, false)
	if code != "" {
		return "", false
	}
	return info.Number, true
}

// SealID seals a normalized ID number for id_sealed.
func SealID(k *pii.Keyring, id string) []byte {
	return k.Seal([]byte(id), idAAD)
}

// NormalizePhone reduces a mainland mobile number to its 11 digits by
// the pipeline's rule (cleanse.NormalizePhone: full-width digits, spaces,
// dashes, dots, +86/0086); anything else comes back trimmed and fails
// ValidPhone.
func NormalizePhone(typed string) string {
	if p, ok := cleanse.NormalizePhone(typed); ok {
		return p
	}
	return strings.TrimSpace(typed)
}

// ValidPhone reports whether a normalized phone is a mainland mobile
// number.
func ValidPhone(s string) bool {
	if len(s) != 11 || s[0] != '1' || s[1] < '3' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IDIndex is the blind index of a normalized ID number (NormalizeID).
func IDIndex(k *pii.Keyring, id string) []byte {
	return k.BlindIndex(string(schemas.FieldIDNumber), id)
}

// AppendIDIndex appends IDIndex(k, id) to dst.
func AppendIDIndex(dst []byte, k *pii.Keyring, id string) []byte {
	return k.AppendBlindIndex(dst, string(schemas.FieldIDNumber), id)
}

// NormalizeCreditCode is the form of a unified social credit code whose
// blind index finds its legal account: cleanse.ValidUSCC's (white space,
// full-width forms and lower case folded), the rule the pipeline stored
// the account by. ok is false for a code that is not valid (wrong length,
// a letter I O Z S V, a bad check character): it finds no account.
func NormalizeCreditCode(typed string) (code string, ok bool) {
	code, c := cleanse.ValidUSCC(typed)
	return code, c == ""
}

// CreditCodeIndex is the blind index of a normalized credit code: a legal
// account's id_bidx. Its own domain, so that no credit code's index is
// ever an ID number's.
func CreditCodeIndex(k *pii.Keyring, code string) []byte {
	return k.BlindIndex(string(schemas.FieldCreditCode), code)
}

// AppendCreditCodeIndex appends CreditCodeIndex(k, code) to dst.
func AppendCreditCodeIndex(dst []byte, k *pii.Keyring, code string) []byte {
	return k.AppendBlindIndex(dst, string(schemas.FieldCreditCode), code)
}

// SealRepID seals a representative's normalized ID number for
// rep_id_sealed; OpenRepID opens it.
func SealRepID(k *pii.Keyring, id string) []byte { return k.Seal([]byte(id), repIDAAD) }

// OpenRepID opens a sealed representative's ID number, for the checks
// that need it (the face challenge, the enterprise interface).
func OpenRepID(k *pii.Keyring, sealed []byte) (string, error) {
	b, err := k.Open(sealed, repIDAAD)
	return string(b), err
}

var repIDAAD = []byte(schemas.FieldRepIDNumber)

// PhoneIndex is the blind index of a normalized phone (NormalizePhone).
func PhoneIndex(k *pii.Keyring, phone string) []byte {
	return k.BlindIndex(string(schemas.FieldPhone), phone)
}

// SealPhone seals a phone for phone_sealed.
func SealPhone(k *pii.Keyring, phone string) []byte {
	return k.Seal([]byte(phone), phoneAAD)
}

// OpenPhone opens a sealed phone ("" for none).
func OpenPhone(k *pii.Keyring, sealed []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	b, err := k.Open(sealed, phoneAAD)
	return string(b), err
}

// OpenID opens a sealed ID number, for the checks that need it; never
// shown or logged.
func OpenID(k *pii.Keyring, sealed []byte) (string, error) {
	b, err := k.Open(sealed, idAAD)
	return string(b), err
}

var idAAD, phoneAAD = []byte(schemas.FieldIDNumber), []byte(schemas.FieldPhone)

// appendPhone appends phone_sealed, phone_bidx and phone_hint of a
// normalized phone ("": none) to a COPY row.
func appendPhone(r *database.CopyRow, k *pii.Keyring, phone string) {
	if phone == "" {
		r.Null()
		r.Null()
		r.Text("")
		return
	}
	r.ByteaFunc(k.SealedLen(len(phone)), func(b []byte) []byte { return k.AppendSealString(b, phone, phoneAAD) })
	r.ByteaFunc(pii.BlindIndexLen, func(b []byte) []byte { return k.AppendBlindIndex(b, string(schemas.FieldPhone), phone) })
	r.TextFunc(func(b []byte) []byte { return pii.AppendMaskPhone(b, phone) })
}

// CreditCodeHint is a legal account's id_hint: its credit code with the
// middle ten characters masked (9146**********123X), enough for its
// holder to recognize it on a page, not enough to search by.
func CreditCodeHint(code string) string {
	if len(code) != 18 {
		return pii.MaskID(code)
	}
	return code[:4] + "**********" + code[14:]
}
