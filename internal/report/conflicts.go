package report

import (
	"context"
	"time"
)

// Conflict is an open merge conflict with the account it is about.
// Survivorship already picked a value; the conflict waits for review.
type Conflict struct {
	ID        int64 `json:"conflict_id"`
	AccountID int64 `json:"account_id"`
	// IDHint is the account's masked ID number ("4*****4").
	IDHint string `json:"id_hint"`
	// Name is the account's surviving name.
	Name string `json:"name"`
	// Kind is the account's kind: "natural" or "legal" (IDHint is then
	// the masked credit code).
	Kind string `json:"kind"`
	// Field is "name", "gender" or "birth_date", or a legal person's
	// "rep_name" (its representatives: name and masked ID).
	Field      string      `json:"field"`
	Candidates []Candidate `json:"candidates"`
	RunID      int64       `json:"run_id"`
	Created    time.Time   `json:"created_at"`
}

// Candidate is one of a conflict's values and where it came from: the
// input rows that carried it, or (Source "id_number") the ID number
// itself, for the gender and birth date it encodes.
type Candidate struct {
	Value   string            `json:"value"`
	Source  string            `json:"source,omitempty"`
	Sources []CandidateSource `json:"sources,omitempty"`
}

// CandidateSource is an input row: department, file and row number.
type CandidateSource struct {
	Dept   string `json:"dept"`
	SHA256 string `json:"file_sha256"`
	Row    int64  `json:"row"`
}

// ConflictFilter selects open conflicts.
type ConflictFilter struct {
	// Field keeps the conflicts of one field; default "": all.
	Field string
	// Limit is the most conflicts listed; default 0: all.
	Limit int
}

// OpenConflicts lists the open conflicts that pass f, oldest first, and
// counts all of them (total ignores f.Limit) in the same snapshot.
func OpenConflicts(ctx context.Context, db DB, f ConflictFilter) (_ []Conflict, total int64, err error) {
	defer wrap(&err, "report.OpenConflicts(%q, %d)", f.Field, f.Limit)
	field := &f.Field
	if f.Field == "" {
		field = nil
	}
	rows, err := db.Query(ctx, `
		SELECT c.id, c.account_id, a.id_hint, a.name, a.kind, c.field, c.candidates, c.run_id, c.created_at,
		       count(*) OVER ()
		FROM merge_conflict c JOIN account a ON a.id_bidx = c.account_bidx AND a.id = c.account_id
		WHERE c.status = 'open' AND ($1::text IS NULL OR c.field = $1)
		ORDER BY c.id
		LIMIT $2`, field, limitArg(f.Limit))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		var c Conflict
		if err := rows.Scan(&c.ID, &c.AccountID, &c.IDHint, &c.Name, &c.Kind, &c.Field, &c.Candidates, &c.RunID, &c.Created, &total); err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}
