package account

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/idfusion/idfusion/internal/pii"
)

// ConflictRep is a representative as a conflict of representatives'
// candidate carries it (merge_conflict.candidates' "rep"), so that staff
// can choose it as the surviving one: the department row's values,
// sealed, since the conflict shows only the name and the masked ID.
type ConflictRep struct {
	Name        string `json:"name"`
	IDType      string `json:"id_type"`
	ID          string `json:"id"`
	Nationality string `json:"nationality,omitempty"`
	// ValidFrom and ValidTo in days since 1970-01-01, when known.
	ValidFrom *int32 `json:"valid_from,omitempty"`
	ValidTo   *int32 `json:"valid_to,omitempty"`
}

var conflictRepAAD = []byte("merge_conflict.rep")

// SealConflictRep seals r for a candidate's "rep" (base64).
func SealConflictRep(k *pii.Keyring, r ConflictRep) string {
	b, _ := json.Marshal(r) // strings and integers: cannot fail
	return base64.StdEncoding.EncodeToString(k.Seal(b, conflictRepAAD))
}

// OpenConflictRep opens a candidate's "rep".
func OpenConflictRep(k *pii.Keyring, sealed string) (ConflictRep, error) {
	var r ConflictRep
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return r, errors.New("conflict representative: not base64")
	}
	if b, err = k.Open(b, conflictRepAAD); err != nil {
		return r, err
	}
	err = json.Unmarshal(b, &r)
	return r, err
}
