package sample

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"slices"

	"github.com/idfusion/idfusion/schemas"
)

// Config says what to generate.
type Config struct {
	// Dir receives exports/, mappings/ and truth.json. Required.
	Dir string
	// Rows is the approximate total number of data rows over all
	// departments. Default 1000; at most 40 million.
	Rows int
	// Seed makes a different but equally deterministic data set. Default 1.
	Seed uint64
	// Depts limits generation to these department codes, of persons and
	// of legal persons. Default all.
	Depts []string
	// Legal is the number of legal persons to generate into the legal
	// departments' exports (LegalDepts); 0 none, below 0 a tenth of the
	// persons. Persons' files are the same whatever Legal is.
	Legal int
}

// Truth is what a correct pipeline must find in the generated files.
type Truth struct {
	Seed  uint64      `json:"seed"`
	Rows  int64       `json:"rows"`
	Files []TruthFile `json:"files"`
	// Persons is the number of distinct people with at least one accepted
	// row: the accounts an import into an empty store must create, listed
	// with their surviving name and phone in truth_accounts.csv.
	Persons int64 `json:"persons"`
	// Conflicts counts the persons with a conflict, by field: different
	// names, or a gender or birth date disagreeing with the ID number.
	Conflicts map[schemas.Field]int64 `json:"conflicts"`
	// Legal is the number of distinct legal persons with at least one
	// accepted row, listed in truth_legal.csv; LegalRepsPersons how many
	// of them have a representative who is one of the Persons (the link
	// merge makes by the representative's ID).
	Legal            int64 `json:"legal,omitempty"`
	LegalRepsPersons int64 `json:"legal_reps_persons,omitempty"`
}

// TruthFile is the expected outcome of one generated file.
type TruthFile struct {
	Dept         string                 `json:"dept"`
	Path         string                 `json:"path"` // relative to Config.Dir
	Rows         int64                  `json:"rows"`
	Accepted     int64                  `json:"accepted"`
	Rejected     int64                  `json:"rejected"`
	Warnings     int64                  `json:"warnings"`
	Rejects      map[schemas.Code]int64 `json:"rejects_by_reason"`
	WarningCodes map[schemas.Code]int64 `json:"warnings_by_reason"`
}

// maxSheetRows is how many data rows the generator puts in one sheet,
// below Excel's limit of 1,048,576 rows.
const maxSheetRows = 1_000_000

// Depts lists the codes of the sample departments.
func Depts() []string {
	out := make([]string, len(depts))
	for i, d := range depts {
		out[i] = d.code
	}
	return out
}

// Generate writes the sample data set and returns its truth, also written
// to Dir/truth.json.
func Generate(ctx context.Context, cfg Config) (Truth, error) {
	if cfg.Dir == "" {
		return Truth{}, errors.New("sample: Config.Dir is required")
	}
	if cfg.Rows <= 0 {
		cfg.Rows = 1000
	}
	if cfg.Rows > 40_000_000 {
		return Truth{}, fmt.Errorf("sample: Config.Rows %d is over 40 million", cfg.Rows)
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	var chosen []int
	for i, d := range depts {
		if len(cfg.Depts) == 0 || slices.Contains(cfg.Depts, d.code) {
			chosen = append(chosen, i)
		}
	}
	var legalChosen []int
	for i, d := range legalDepts {
		if len(cfg.Depts) == 0 || slices.Contains(cfg.Depts, d.code) {
			legalChosen = append(legalChosen, i)
		}
	}
	if len(chosen) == 0 {
		return Truth{}, fmt.Errorf("sample: none of the departments of persons %v exists (known: %v)", cfg.Depts, Depts())
	}
	for _, sub := range []string{"exports", "mappings"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, sub), 0o755); err != nil {
			return Truth{}, err
		}
	}
	g := newGen(cfg.Seed)
	// Rows per person: their departments' shares, plus the chance that
	// none of the chosen departments holds them (they then get a row in the
	// first, so nobody is left without one).
	share, none := 0.0, 1.0
	for _, di := range chosen {
		share += deptShare[di]
		none *= 1 - deptShare[di]
	}
	share += none
	people := max(1, int(float64(cfg.Rows)/share+0.5))
	truth := Truth{Seed: cfg.Seed}
	accepted := make([]uint64, people/64+1) // bit i: person i has an accepted row
	for _, di := range chosen {
		d := depts[di]
		if err := os.WriteFile(filepath.Join(cfg.Dir, "mappings", d.code+".yaml"), []byte(d.mappingYAML()), 0o644); err != nil {
			return truth, err
		}
		// A sheet holds at most maxSheetRows rows: a department with more
		// sends several workbooks (weijian_users.xlsx, weijian_users-2.xlsx).
		part := 1
		var w rowWriter
		var tf TruthFile
		var rel string
		open := func() error {
			rel = filepath.Join("exports", d.file)
			if part > 1 {
				ext := filepath.Ext(d.file)
				rel = filepath.Join("exports", fmt.Sprintf("%s-%d%s", d.file[:len(d.file)-len(ext)], part, ext))
			}
			tf = TruthFile{Dept: d.code, Path: rel, Rejects: map[schemas.Code]int64{}, WarningCodes: map[schemas.Code]int64{}}
			var err error
			w, err = newWriter(d, filepath.Join(cfg.Dir, rel))
			return err
		}
		if err := open(); err != nil {
			return truth, err
		}
		for i := range people {
			if i%65536 == 0 {
				if err := ctx.Err(); err != nil {
					w.close()
					return truth, err
				}
			}
			p := g.person(i)
			if p.depts&(1<<di) == 0 {
				if len(cfg.Depts) == 0 || firstChosen(p, chosen) != di {
					continue
				}
			}
			if d.format == schemas.FormatXLSX && tf.Rows == maxSheetRows {
				if err := w.close(); err != nil {
					return truth, fmt.Errorf("sample: %s: %w", rel, err)
				}
				truth.Rows += tf.Rows
				truth.Files = append(truth.Files, tf)
				part++
				if err := open(); err != nil {
					return truth, err
				}
			}
			r := g.makeRow(di, p)
			if err := w.write(&r); err != nil {
				w.close()
				return truth, fmt.Errorf("sample: %s: %w", rel, err)
			}
			tf.Rows++
			if r.reject != "" {
				tf.Rejected++
				tf.Rejects[r.reject]++
				continue
			}
			tf.Accepted++
			accepted[i/64] |= 1 << (i % 64)
			for _, c := range r.warnings {
				tf.Warnings++
				tf.WarningCodes[c]++
			}
		}
		if err := w.close(); err != nil {
			return truth, fmt.Errorf("sample: %s: %w", rel, err)
		}
		truth.Rows += tf.Rows
		truth.Files = append(truth.Files, tf)
	}
	var persons int64
	for _, w := range accepted {
		persons += int64(bits.OnesCount64(w))
	}
	var err error
	if truth.Conflicts, truth.Persons, err = g.writeAccounts(cfg.Dir, people, chosen, len(cfg.Depts) == 0); err != nil {
		return truth, err
	}
	if persons != truth.Persons {
		return truth, fmt.Errorf("sample: files have %d persons, accounts truth %d", persons, truth.Persons)
	}
	if err := g.writeUpstreamCitizens(cfg.Dir, people, chosen, len(cfg.Depts) == 0); err != nil {
		return truth, err
	}
	if cfg.Legal < 0 {
		cfg.Legal = max(1, people/10)
	}
	if cfg.Legal > 0 && len(legalChosen) > 0 {
		all := len(cfg.Depts) == 0
		hasAccount := func(i int) bool { return g.goldenOf(g.person(i), chosen, all).accepted }
		if err := g.generateLegal(cfg.Dir, cfg.Legal, people, legalChosen, hasAccount, &truth); err != nil {
			return truth, err
		}
	}
	b, _ := json.MarshalIndent(truth, "", "  ")
	return truth, os.WriteFile(filepath.Join(cfg.Dir, "truth.json"), append(b, '\n'), 0o644)
}

// firstChosen returns the first chosen department: with a subset of
// departments, a person none of them holds is given to the first, so every
// person still has a row.
func firstChosen(p person, chosen []int) int {
	for _, di := range chosen {
		if p.depts&(1<<di) != 0 {
			return -1
		}
	}
	return chosen[0]
}
