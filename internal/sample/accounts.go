package sample

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/idfusion/idfusion/schemas"
)

// golden is what a correct merge makes of one person.
type golden struct {
	id, name, phone string
	accepted        bool
	names           int // distinct accepted names
	genderConflict  bool
	birthConflict   bool
}

// goldenOf recomputes the person's rows in the chosen departments and
// applies the survivorship rules independently of merge: the name of the
// most trusted department, the phone of the newest record that has a valid
// one (records with an unreadable update time rank last, then by trust).
func (g *gen) goldenOf(p person, chosen []int, all bool) golden {
	gd := golden{id: p.id}
	var names []string
	bestName, bestPhone := -1, -1
	var phoneTime int64
	for _, di := range chosen {
		if p.depts&(1<<di) == 0 && (all || firstChosen(p, chosen) != di) {
			continue
		}
		r := g.makeRow(di, p)
		if r.reject != "" {
			continue
		}
		gd.accepted = true
		if !slices.Contains(names, r.name) {
			names = append(names, r.name)
		}
		if bestName < 0 || depts[di].priority < depts[bestName].priority {
			bestName, gd.name = di, r.name
		}
		var t int64
		if !slices.Contains(r.warnings, schemas.UpdatedAtInvalid) {
			t = g.updatedAt(p, di).Unix()
		}
		if !slices.Contains(r.warnings, schemas.PhoneInvalid) &&
			(bestPhone < 0 || t > phoneTime || (t == phoneTime && depts[di].priority < depts[bestPhone].priority)) {
			bestPhone, phoneTime, gd.phone = di, t, p.phones[di]
		}
		gd.genderConflict = gd.genderConflict || slices.Contains(r.warnings, schemas.GenderMismatch)
		gd.birthConflict = gd.birthConflict || slices.Contains(r.warnings, schemas.BirthDateMismatch)
	}
	gd.names = len(names)
	return gd
}

// writeAccounts writes truth_accounts.csv (id_number,name,phone of every
// account an import into an empty store must create) and returns the
// expected conflicts by field.
func (g *gen) writeAccounts(dir string, people int, chosen []int, all bool) (map[schemas.Field]int64, int64, error) {
	f, err := os.Create(filepath.Join(dir, "truth_accounts.csv"))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id_number,name,phone")
	conflicts := map[schemas.Field]int64{}
	var persons int64
	for i := range people {
		gd := g.goldenOf(g.person(i), chosen, all)
		if !gd.accepted {
			continue
		}
		persons++
		fmt.Fprintf(w, "%s,%s,%s\n", gd.id, gd.name, gd.phone)
		if gd.names > 1 {
			conflicts[schemas.FieldName]++
		}
		if gd.genderConflict {
			conflicts[schemas.FieldGender]++
		}
		if gd.birthConflict {
			conflicts[schemas.FieldBirthDate]++
		}
	}
	if err := w.Flush(); err != nil {
		return nil, 0, err
	}
	return conflicts, persons, f.Close()
}
