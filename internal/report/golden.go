package report

import (
	"context"
	"time"
)

// Golden is an account's golden record: its surviving values, masked
// where sensitive, with the input row each value came from.
type Golden struct {
	AccountID int64
	// IDHint is the masked ID number ("4*****4").
	IDHint string
	IDType string
	Name   string
	// Gender is "M", "F" or "" (unknown).
	Gender string
	// BirthDate is nil when unknown.
	BirthDate *time.Time
	// PhoneHint is the masked phone ("139****9071"), "" without a phone.
	PhoneHint     string
	Address       string
	Status        string
	Origin        string
	RequiredSteps []string
	// NameSource, PhoneSource and AddressSource are the input rows the
	// surviving values came from; nil when the citizen set the value or
	// no department had one.
	NameSource, PhoneSource, AddressSource *ValueSource
	// LineageRows is the number of input rows linked to the account.
	LineageRows int64
	// Kind is "natural" or "legal". A legal account's IDHint is its masked
	// credit code, Name its name, the phone and address its contact's;
	// its own values follow ("" for a natural account). RepIDHint is the
	// representative's masked ID number.
	Kind, LegalType, RepName, RepIDHint, ContactName, Realname string
	// RepSource and ContactSource are the input rows of a legal
	// account's representative and contact person.
	RepSource, ContactSource *ValueSource
	// IDSealed and PhoneSealed are the sealed ID number and phone, set
	// only with GoldenOptions.Sealed (PhoneSealed nil without a phone).
	IDSealed, PhoneSealed []byte
}

// ValueSource is the input row a surviving value came from.
type ValueSource struct {
	Dept      string
	SHA256    string // the file's content hash
	Row       int64  // row number in the file
	SourceKey string // the department's own key of the row
}

// GoldenOptions says what Goldens reads.
type GoldenOptions struct {
	// Sealed also reads the sealed ID numbers and phones, for an export
	// that decrypts them. Default false: the ciphertext is not even read.
	Sealed bool
}

// Goldens calls fn with every account's golden record in account id order
// and returns how many it read. Rows stream from the server: memory does
// not grow with the number of accounts. fn gets the same *Golden each
// time, valid only during the call; an error from fn stops the reading and
// is returned as is.
func Goldens(ctx context.Context, db DB, opts GoldenOptions, fn func(*Golden) error) (n int64, err error) {
	sealed := `NULL::bytea, NULL::bytea`
	if opts.Sealed {
		sealed = `a.id_sealed, a.phone_sealed`
	}
	// Lineage counts come from one grouped pass over account_lineage
	// rather than a probe per account.
	rows, err := db.Query(ctx, `
		SELECT a.id, a.id_hint, a.id_type, a.name, a.gender, a.birth_date, a.phone_hint, a.address,
		       a.status, a.origin, a.required_steps,
		       fn.dept, fn.sha256, ln.row_num, ln.source_key,
		       fp.dept, fp.sha256, lp.row_num, lp.source_key,
		       fa.dept, fa.sha256, la.row_num, la.source_key,
		       coalesce(lc.n, 0), `+sealed+`,
		       a.kind, coalesce(a.legal_type, ''), coalesce(a.rep_name, ''), coalesce(a.rep_id_hint, ''), coalesce(a.contact_name, ''),
		       coalesce(a.realname_status, ''),
		       fr.dept, fr.sha256, lr.row_num, lr.source_key,
		       fc.dept, fc.sha256, lc2.row_num, lc2.source_key
		FROM account a
		LEFT JOIN account_lineage ln ON ln.account_bidx = a.id_bidx AND ln.id = a.name_source LEFT JOIN source_file fn ON fn.id = ln.file_id
		LEFT JOIN account_lineage lp ON lp.account_bidx = a.id_bidx AND lp.id = a.phone_source LEFT JOIN source_file fp ON fp.id = lp.file_id
		LEFT JOIN account_lineage la ON la.account_bidx = a.id_bidx AND la.id = a.address_source LEFT JOIN source_file fa ON fa.id = la.file_id
		LEFT JOIN account_lineage lr ON lr.account_bidx = a.id_bidx AND lr.id = a.rep_source LEFT JOIN source_file fr ON fr.id = lr.file_id
		LEFT JOIN account_lineage lc2 ON lc2.account_bidx = a.id_bidx AND lc2.id = a.contact_source LEFT JOIN source_file fc ON fc.id = lc2.file_id
		LEFT JOIN (SELECT account_bidx, count(*) AS n FROM account_lineage GROUP BY account_bidx) lc ON lc.account_bidx = a.id_bidx
		ORDER BY a.id`)
	if err != nil {
		return 0, wrapGoldens(err)
	}
	defer rows.Close()
	var g Golden
	var src [5]nullSource
	for rows.Next() {
		g.BirthDate = nil
		if err := rows.Scan(&g.AccountID, &g.IDHint, &g.IDType, &g.Name, &g.Gender, &g.BirthDate, &g.PhoneHint, &g.Address,
			&g.Status, &g.Origin, &g.RequiredSteps,
			&src[0].dept, &src[0].sha, &src[0].row, &src[0].key,
			&src[1].dept, &src[1].sha, &src[1].row, &src[1].key,
			&src[2].dept, &src[2].sha, &src[2].row, &src[2].key,
			&g.LineageRows, &g.IDSealed, &g.PhoneSealed,
			&g.Kind, &g.LegalType, &g.RepName, &g.RepIDHint, &g.ContactName, &g.Realname,
			&src[3].dept, &src[3].sha, &src[3].row, &src[3].key,
			&src[4].dept, &src[4].sha, &src[4].row, &src[4].key); err != nil {
			return n, wrapGoldens(err)
		}
		g.NameSource, g.PhoneSource, g.AddressSource = src[0].get(), src[1].get(), src[2].get()
		g.RepSource, g.ContactSource = src[3].get(), src[4].get()
		if err := fn(&g); err != nil {
			return n, err
		}
		n++
	}
	return n, wrapGoldens(rows.Err())
}

func wrapGoldens(err error) error {
	wrap(&err, "report.Goldens")
	return err
}

// nullSource scans the LEFT JOINed columns of a value's source.
type nullSource struct {
	dept, sha, key *string
	row            *int64
}

func (s nullSource) get() *ValueSource {
	if s.dept == nil || s.row == nil {
		return nil
	}
	v := &ValueSource{Dept: *s.dept, Row: *s.row}
	if s.sha != nil {
		v.SHA256 = *s.sha
	}
	if s.key != nil {
		v.SourceKey = *s.key
	}
	return v
}
