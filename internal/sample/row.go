package sample

import (
	"fmt"
	"strings"
	"time"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/schemas"
)

// undecodable stands in a generated value for bytes that do not decode:
// the writers replace it with a GBK user-defined-area character (0xAA 0xA1)
// or, in UTF-8, an invalid byte.
const undecodable = "\uE000"

// row is one generated data row of a department and what the pipeline must
// make of it.
type row struct {
	v [9]string // by schemas.Fields position
	// idNumber: in XLSX, write the ID as a number cell holding this value.
	idNumber float64
	// birth: in XLSX, write the birth date as a date cell.
	birth time.Time
	// extraField: CSV, append one more field than the header has.
	extraField bool

	reject   schemas.Code
	warnings []schemas.Code
	// name is the name the row carries for the truth (normalized form).
	name string
}

func fieldPos(f schemas.Field) int {
	for i, g := range schemas.Fields {
		if g == f {
			return i
		}
	}
	panic("unknown field " + f)
}

func (r *row) set(f schemas.Field, v string) { r.v[fieldPos(f)] = v }
func (r *row) get(f schemas.Field) string    { return r.v[fieldPos(f)] }

var rejectKinds = []schemas.Code{
	schemas.IDEmpty, schemas.IDBadLength, schemas.IDBadChars, schemas.IDBadChecksum,
	schemas.IDBadBirthDate, schemas.IDBadProvince, schemas.IDScientificNotation,
	schemas.FieldUndecoded, schemas.RowFieldCount, schemas.NameEmpty, schemas.NameBadChars,
	schemas.IDTypeUnknown,
}

var warningKinds = []schemas.Code{
	schemas.PhoneInvalid, schemas.GenderMismatch, schemas.BirthDateMismatch,
	schemas.UpdatedAtInvalid, schemas.IDLegacy15,
}

// Shares of rows, in percent: rejected, with a warning, with harmless noise
// that cleanse must normalize away.
const (
	rejectPct = 4
	warnPct   = 4
	noisePct  = 10
)

// makeRow builds department d's row for person p: a pure function of the
// seed, d and p, so files and truth are computed independently.
func (g *gen) makeRow(di int, p person) row {
	d := depts[di]
	var r row
	r.name = p.name
	if p.variant != "" && di == lastDept(p) && di != firstDept(p) {
		r.name = p.variant
	}
	r.set(schemas.FieldSourceKey, fmt.Sprintf("%s%08d", strings.ToUpper(d.code[:2]), p.idx))
	r.set(schemas.FieldName, r.name)
	r.set(schemas.FieldIDNumber, p.id)
	if d.idType != "" {
		r.set(schemas.FieldIDType, d.idType)
	}
	if d.gender != nil {
		r.set(schemas.FieldGender, d.gender(p.male))
	}
	if d.dateLayout != "" {
		r.set(schemas.FieldBirthDate, p.birth.Format(d.dateLayout))
		if d.format == schemas.FormatXLSX {
			r.birth = p.birth
		}
	}
	r.set(schemas.FieldPhone, p.phones[di])
	r.set(schemas.FieldAddress, p.address)
	r.set(schemas.FieldUpdatedAt, g.updatedAt(p, di).Format(d.timeLayout))

	rng := g.rng(10+uint64(di), p.idx)
	x := rng.IntN(100)
	switch {
	case x < rejectPct:
		g.dirty(d, &r, p, rng.IntN(len(rejectKinds)))
	case x < rejectPct+warnPct:
		g.warn(d, &r, p, rng.IntN(len(warningKinds)))
	case x < rejectPct+warnPct+noisePct:
		noise(d, &r, p, rng.IntN(8))
	}
	if r.reject == "" && !schemas.CountyKnown(p.id[:6]) {
		r.warnings = append(r.warnings, schemas.IDUnknownCounty)
	}
	return r
}

func firstDept(p person) int {
	for d := range depts {
		if p.depts&(1<<d) != 0 {
			return d
		}
	}
	return -1
}

func lastDept(p person) int {
	for d := len(depts) - 1; d >= 0; d-- {
		if p.depts&(1<<d) != 0 {
			return d
		}
	}
	return -1
}

// withCheck returns the 17 first chars plus their valid check character.
func withCheck(first17 string) string { return first17 + string(cleanse.IDCheckChar(first17)) }

// dirty makes r a row that must be rejected, trying kinds from k on until
// one fits the department's format.
func (g *gen) dirty(d *dept, r *row, p person, k int) {
	for i := range rejectKinds {
		code := rejectKinds[(k+i)%len(rejectKinds)]
		id := p.id
		switch code {
		case schemas.IDEmpty:
			r.set(schemas.FieldIDNumber, "")
		case schemas.IDBadLength:
			r.set(schemas.FieldIDNumber, id[:10]+id[11:])
		case schemas.IDBadChars:
			r.set(schemas.FieldIDNumber, id[:8]+"A"+id[9:])
		case schemas.IDBadChecksum:
			good := id[17]
			bad := byte('1')
			if good == '1' {
				bad = '2'
			}
			r.set(schemas.FieldIDNumber, id[:17]+string(bad))
		case schemas.IDBadBirthDate:
			r.set(schemas.FieldIDNumber, withCheck(id[:6]+id[6:10]+"0231"+id[14:17]))
		case schemas.IDBadProvince:
			r.set(schemas.FieldIDNumber, withCheck("19"+id[2:17]))
		case schemas.IDScientificNotation:
			if d.format == schemas.FormatXLSX {
				var f float64
				fmt.Sscan(id[:17]+"0", &f)
				r.idNumber = f
			}
			r.set(schemas.FieldIDNumber, fmt.Sprintf("%s.%sE+17", id[:1], id[1:6]))
		case schemas.FieldUndecoded:
			if !d.csv() {
				continue
			}
			n := []rune(r.get(schemas.FieldName))
			r.set(schemas.FieldName, string(n[:1])+undecodable+string(n[1:]))
		case schemas.RowFieldCount:
			if !d.csv() {
				continue
			}
			r.extraField = true
		case schemas.NameEmpty:
			r.set(schemas.FieldName, "")
		case schemas.NameBadChars:
			r.set(schemas.FieldName, r.get(schemas.FieldName)+"3")
		case schemas.IDTypeUnknown:
			if !d.has(schemas.FieldIDType) {
				continue
			}
			r.set(schemas.FieldIDType, "军官证")
		}
		r.reject = code
		return
	}
}

// warn gives r one problem that keeps the row but must be reported.
func (g *gen) warn(d *dept, r *row, p person, k int) {
	for i := range warningKinds {
		code := warningKinds[(k+i)%len(warningKinds)]
		switch code {
		case schemas.PhoneInvalid:
			r.set(schemas.FieldPhone, "0898-12345")
		case schemas.GenderMismatch:
			if d.gender == nil {
				continue
			}
			r.set(schemas.FieldGender, d.gender(!p.male))
		case schemas.BirthDateMismatch:
			if d.dateLayout == "" {
				continue
			}
			other := p.birth.AddDate(0, 0, 3)
			r.set(schemas.FieldBirthDate, other.Format(d.dateLayout))
			if !r.birth.IsZero() {
				r.birth = other
			}
		case schemas.UpdatedAtInvalid:
			r.set(schemas.FieldUpdatedAt, "2023-13-45 25:61")
		case schemas.IDLegacy15:
			if p.birth.Year() >= 2000 {
				continue
			}
			r.set(schemas.FieldIDNumber, p.id[:6]+p.id[8:17])
		}
		r.warnings = append(r.warnings, code)
		return
	}
}

// noise writes values the way careless exports do; cleanse must undo it
// without a word. GBK files only get noise GBK can encode.
func noise(d *dept, r *row, p person, k int) {
	id := p.id
	gbk := d.encoding == schemas.EncodingGBK
	switch k {
	case 0: // full-width digits
		var b strings.Builder
		for _, c := range id {
			if c >= '0' && c <= '9' {
				b.WriteRune(c - '0' + '０')
			} else {
				b.WriteRune(c)
			}
		}
		r.set(schemas.FieldIDNumber, b.String())
	case 1: // text-forcing apostrophe
		r.set(schemas.FieldIDNumber, "'"+id)
	case 2: // ="…" formula wrapper
		r.set(schemas.FieldIDNumber, `="`+id+`"`)
	case 3: // invisible characters
		if gbk {
			r.set(schemas.FieldIDNumber, " "+id[:6]+"\u3000"+id[6:]+" ")
		} else {
			r.set(schemas.FieldIDNumber, "\uFEFF"+id[:6]+"\u200B"+id[6:])
		}
	case 4: // lower-case x, or spaces when there is no X
		if id[17] == 'X' {
			r.set(schemas.FieldIDNumber, id[:17]+"x")
		} else {
			r.set(schemas.FieldIDNumber, id[:6]+" "+id[6:14]+" "+id[14:])
		}
	case 5: // phone with country code and separators
		ph := r.get(schemas.FieldPhone)
		r.set(schemas.FieldPhone, "+86 "+ph[:3]+"-"+ph[3:7]+"-"+ph[7:])
	case 6: // name with stray spaces
		r.set(schemas.FieldName, " "+r.get(schemas.FieldName)+"\u3000")
	case 7: // middle dot look-alike in a minority name
		n := r.get(schemas.FieldName)
		if strings.Contains(n, "·") && !gbk {
			r.set(schemas.FieldName, strings.ReplaceAll(n, "·", midDotLookalikes[p.idx%len(midDotLookalikes)]))
		} else {
			r.set(schemas.FieldName, n+" ")
		}
	}
}
