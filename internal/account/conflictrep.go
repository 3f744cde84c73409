package account

import (
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/idfusion/idfusion/internal/pii"
)

// RepCandidate is a representative as a conflict of representatives
// shows it: the name and the masked ID, never the clear ID.
func RepCandidate(name, hint string) string {
	if hint == "" {
		return name
	}
	return name + " " + hint
}

// ConflictRep is a representative as a conflict of representatives keeps
// a department candidate's (merge_conflict.reps), so that staff can
// choose it as the surviving one: the department row's values, sealed,
// since the candidate shows only RepCandidate.
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

// SealConflictRep seals r for merge_conflict.reps (base64).
func SealConflictRep(k *pii.Keyring, r ConflictRep) string {
	b, _ := json.Marshal(r) // strings and integers: cannot fail
	return base64.StdEncoding.EncodeToString(k.Seal(b, conflictRepAAD))
}

// OpenConflictRep opens what SealConflictRep sealed.
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
