package cleanse

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow"
	"golang.org/x/text/unicode/norm"

	"github.com/idfusion/idfusion/schemas"
)

// MaxOrgName is the longest legal person's name NormalizeOrgName accepts,
// in characters.
const MaxOrgName = 200

// NormalizeOrgName cleans the name of a legal person (an organization, not
// a person: digits, brackets and punctuation are part of names such as
// 北京某某科技有限公司（分公司） or "ABC (China) Co., Ltd."). It applies
// NFKC, drops invisible format characters, trims, and folds each run of
// white space into one space, removed altogether next to a Chinese
// character.
//
// code is OrgNameEmpty when nothing is left, or OrgNameInvalid when the
// name holds a control character, U+FFFD (bytes the decoder could not
// read), a private-use character, no letter at all, or more than
// MaxOrgName characters. The name is "" whenever code is not "".
func NormalizeOrgName(raw string) (string, schemas.Code) {
	s := norm.NFKC.String(raw)
	var b strings.Builder
	b.Grow(len(s))
	space, letter := false, false
	var prev rune
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case unicode.Is(unicode.Cf, r):
			continue
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Co, r):
			return "", schemas.OrgNameInvalid
		}
		if space && b.Len() > 0 && !unicode.Is(unicode.Han, prev) && !unicode.Is(unicode.Han, r) {
			b.WriteByte(' ')
		}
		space = false
		letter = letter || unicode.IsLetter(r)
		b.WriteRune(r)
		prev = r
	}
	out := b.String()
	switch {
	case out == "":
		return "", schemas.OrgNameEmpty
	case !letter || utf8.RuneCountInString(out) > MaxOrgName:
		return "", schemas.OrgNameInvalid
	}
	return out, ""
}

// longTermEnd is the end date of an ID valid for life (长期有效).
var longTermEnd = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// isLongTerm reports whether an ID's validity end value means 长期有效.
func isLongTerm(v string) bool {
	switch strings.Join(strings.Fields(norm.NFKC.String(v)), "") {
	case "长期", "长期有效", "9999-12-31", "99991231", "9999/12/31", "9999年12月31日":
		return true
	}
	return false
}

// legalRawCol is the RawLegal column of each legal field.
var legalRawCol = func() map[schemas.Field]int {
	m := make(map[schemas.Field]int, len(schemas.LegalFields))
	for i, f := range schemas.LegalFields {
		m[f] = schemas.RawFirstField + i
	}
	return m
}()

// legalRow decides one legal person's row, like row for persons: the
// first problem that rejects it, or the accepted values with warnings.
func (s *Stage) legalRow(r *rawRow) {
	const f0 = schemas.RawFirstField
	col := func(f schemas.Field) int { return legalRawCol[f] }
	if d := r.str(s.tail + 1); d != "" {
		f := schemas.Field(r.str(s.tail + 2))
		s.reject(r, schemas.Code(d), f, s.field(r, f))
		return
	}
	rawCode := r.str(col(schemas.FieldCreditCode))
	code, c := ValidUSCC(rawCode)
	if c != "" {
		s.reject(r, c, schemas.FieldCreditCode, rawCode)
		return
	}
	rawName := r.str(col(schemas.FieldName))
	name, c := NormalizeOrgName(rawName)
	if c != "" {
		s.reject(r, c, schemas.FieldName, rawName)
		return
	}
	for _, i := range s.required {
		if blank(r.str(f0 + i)) {
			s.reject(r, schemas.RequiredMissing, s.fields[i], "")
			return
		}
	}
	rawType := r.str(col(schemas.FieldLegalType))
	legalType, ok := s.m.LegalTypeOf(rawType)
	if !ok {
		s.reject(r, schemas.LegalTypeUnknown, schemas.FieldLegalType, rawType)
		return
	}
	var rep IDInfo
	var repName, nationality string
	rawRepID := r.str(col(schemas.FieldRepIDNumber))
	if !blank(rawRepID) {
		rawRepType := r.str(col(schemas.FieldRepIDType))
		want, ok := s.m.IDTypeOf(rawRepType)
		if !ok {
			s.reject(r, schemas.IDTypeUnknown, schemas.FieldRepIDType, rawRepType)
			return
		}
		if rep, c = ParseID(rawRepID, want, r.idn.Value(r.i)); c != "" {
			s.reject(r, c, schemas.FieldRepIDNumber, rawRepID)
			return
		}
	}
	if v := r.str(col(schemas.FieldRepName)); !blank(v) {
		if repName, c = NormalizeName(v); c != "" {
			s.reject(r, c, schemas.FieldRepName, v)
			return
		}
	}

	// Accepted: warnings from here on never drop the row.
	for _, w := range rep.Warnings {
		s.warn(r, w, schemas.FieldRepIDNumber, rawRepID)
	}
	nationality = strings.ToUpper(trim(norm.NFKC.String(r.str(col(schemas.FieldRepNationality)))))
	if nationality == "" && rep.Type == schemas.IDResident {
		nationality = "CHN"
	}
	var start, end time.Time
	if v := r.str(col(schemas.FieldRepIDStart)); !blank(v) {
		if d, ok := ParseDate(v, s.m.DateFormats, s.loc); ok {
			start = d
		} else {
			s.warn(r, schemas.RepIDDateInvalid, schemas.FieldRepIDStart, v)
		}
	}
	if v := r.str(col(schemas.FieldRepIDEnd)); !blank(v) {
		if isLongTerm(v) {
			end = longTermEnd
		} else if d, ok := ParseDate(v, s.m.DateFormats, s.loc); ok {
			end = d
		} else {
			s.warn(r, schemas.RepIDDateInvalid, schemas.FieldRepIDEnd, v)
		}
	}
	if !start.IsZero() && !end.IsZero() && civil(end).Before(civil(start)) {
		s.warn(r, schemas.RepIDPeriodInvalid, schemas.FieldRepIDEnd, r.str(col(schemas.FieldRepIDEnd)))
		start, end = time.Time{}, time.Time{}
	}
	var phone string
	if v := r.str(col(schemas.FieldPhone)); !blank(v) {
		if p, ok := NormalizePhone(v); ok {
			phone = p
		} else {
			s.warn(r, schemas.PhoneInvalid, schemas.FieldPhone, v)
		}
	}
	var updated time.Time
	if v := r.str(col(schemas.FieldUpdatedAt)); !blank(v) {
		if t, ok := ParseDate(v, s.m.UpdatedAtFormats, s.loc); ok {
			updated = t
		} else {
			s.warn(r, schemas.UpdatedAtInvalid, schemas.FieldUpdatedAt, v)
		}
	}

	s.stats.Accepted++
	s.cs[schemas.ColDept].Append(r.str(schemas.ColDept))
	s.cs[schemas.ColFile].Append(r.str(schemas.ColFile))
	s.cRow.Append(r.num.Value(r.i))
	s.cs[schemas.LegalSourceKey].Append(trim(r.str(s.srcKey)))
	s.cs[schemas.LegalCreditCode].Append(code)
	s.cs[schemas.LegalName].Append(name)
	s.cs[schemas.LegalTypeCol].Append(string(legalType))
	s.cs[schemas.LegalRepName].Append(repName)
	s.cs[schemas.LegalRepIDType].Append(string(rep.Type))
	s.cs[schemas.LegalRepIDNumber].Append(rep.Number)
	s.cs[schemas.LegalRepNationality].Append(nationality)
	appendDate(s.cDate, start)
	appendDate(s.cEnd, end)
	s.cs[schemas.LegalContactName].Append(trim(norm.NFKC.String(r.str(col(schemas.FieldContactName)))))
	s.cs[schemas.LegalPhone].Append(phone)
	s.cs[schemas.LegalAddress].Append(trim(r.str(col(schemas.FieldAddress))))
	if updated.IsZero() {
		s.cUpd.AppendNull()
	} else {
		s.cUpd.Append(arrow.Timestamp(updated.UnixMilli()))
	}
	s.cPri.Append(int32(s.m.Priority))
}

// civil is t's calendar date at midnight UTC.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func appendDate(b interface {
	Append(arrow.Date32)
	AppendNull()
}, t time.Time) {
	if t.IsZero() {
		b.AppendNull()
		return
	}
	b.Append(arrow.Date32FromTime(civil(t)))
}
