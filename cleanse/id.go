package cleanse

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idfusion/idfusion/schemas"
)

// NormalizeID turns a raw identity-number cell into its canonical text: it
// drops all white space (tabs, U+3000, NBSP, …) and invisible format
// characters (U+200B..U+200F, U+2060, U+FEFF, …), removes the wrappers
// spreadsheet users type to force text (a leading ', ="…", "…"), applies
// NFKC so full-width digits and letters become ASCII, and upper-cases ASCII
// letters (x → X). Non-ASCII letters are left as they are: they make the
// number invalid anyway and are reported as bad characters.
//
// NormalizeID is idempotent, and it returns s itself, without allocating,
// when s is already canonical (ASCII digits and upper-case letters only),
// which is the case for almost every cell.
func NormalizeID(s string) string {
	if isCanonicalID(s) {
		return s
	}
	if isASCII(s) {
		return normalizeASCIIID(s)
	}
	if folded, ok := foldWidth(s); ok {
		return normalizeASCIIID(folded)
	}
	// NFKC and character removal can feed each other (NFKC may produce a
	// space, removing a space may join a letter and a combining mark), so
	// non-ASCII input is normalized until it stops changing. ASCII output is
	// always a fixed point, and in practice one or two rounds suffice.
	out := normalizeUnicodeID(s)
	for range 4 {
		if isASCII(out) {
			break
		}
		next := normalizeUnicodeID(out)
		if next == out {
			break
		}
		out = next
	}
	return out
}

// isCanonicalID reports whether s holds only ASCII digits and upper-case
// letters, the form NormalizeID returns unchanged.
func isCanonicalID(s string) bool {
	for i := 0; i < len(s); i++ {
		if !canonicalIDByte[s[i]] {
			return false
		}
	}
	return true
}

// canonicalIDByte marks ASCII digits and upper-case letters; a table keeps
// the scan of every cell to one load per byte.
var canonicalIDByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	return t
}()

// isASCII reports whether s has no byte above 0x7F.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// normalizeASCIIID is NormalizeID for ASCII input, where NFKC is the
// identity and the only white space is the ASCII kind.
func normalizeASCIIID(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || (c >= '\t' && c <= '\r'):
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return stripWrappers(b.String())
}

// foldWidth handles the common non-ASCII cell, typed with a Chinese input
// method: full-width forms of ASCII (U+FF01..U+FF5E), ideographic spaces
// and invisible characters. It maps them as NFKC would, without NFKC's
// cost; ok is false if s has any other non-ASCII character.
func foldWidth(s string) (folded string, ok bool) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		case r >= 0xFF01 && r <= 0xFF5E:
			b.WriteByte(byte(r - 0xFF01 + '!'))
		case isIgnorable(r):
		default:
			return "", false
		}
	}
	return b.String(), true
}

// normalizeUnicodeID is one round of NormalizeID for non-ASCII input.
func normalizeUnicodeID(s string) string {
	s = norm.NFKC.String(dropIgnorable(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case isIgnorable(r):
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return stripWrappers(b.String())
}

// isIgnorable reports whether r is white space or an invisible format
// character (category Cf: zero-width space and joiners, BOM, bidi marks,
// soft hyphen …), the characters that creep into cells through copy and
// paste and carry no meaning in a code.
func isIgnorable(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// dropIgnorable removes every ignorable rune from s; invalid UTF-8 becomes
// U+FFFD so that callers only ever see valid text.
func dropIgnorable(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !isIgnorable(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// stripWrappers removes the wrappers spreadsheet users add to keep a long
// number as text: a leading apostrophe, a formula ="…", or plain quotes
// "…". They can nest ('="…"), so it repeats until none is left.
func stripWrappers(s string) string {
	for {
		switch {
		case strings.HasPrefix(s, "'"):
			s = s[1:]
		case len(s) >= 3 && strings.HasPrefix(s, `="`) && s[len(s)-1] == '"':
			s = s[2 : len(s)-1]
		case len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"':
			s = s[1 : len(s)-1]
		default:
			return s
		}
	}
}

// cleanText prepares a short free-text cell (a date, a gender) for
// matching: invisible characters dropped, NFKC applied so full-width
// digits and letters become ASCII, surrounding white space trimmed. Inner
// spaces are kept because date layouts may contain them.
func cleanText(s string) string {
	if isASCII(s) {
		return strings.TrimSpace(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if !unicode.Is(unicode.Cf, r) {
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(norm.NFKC.String(b.String()))
}

// IDInfo is what a valid identity number says about its holder.
type IDInfo struct {
	// Number is the canonical number: 18 upper-case characters, with
	// 15-digit legacy resident numbers converted to 18; the old foreigner
	// card keeps its 15 characters.
	Number string
	// Type is the kind of document the number belongs to.
	Type schemas.IDType
	// Birth is the birth date as a calendar date (midnight UTC), or the
	// zero time when the document carries none. The old 15-character
	// foreigner card is left zero: it stores the year in two digits, so the
	// century would be a guess.
	Birth time.Time
	// Gender is 'M' or 'F', or 0 when the document carries none (the old
	// foreigner card, for the same reason as Birth).
	Gender byte
	// Warnings lists the codes that keep the row but should be reported,
	// such as IDUnknownCounty and IDLegacy15. It is nil when there are none.
	Warnings []schemas.Code
}

// idShape is the layout a normalized number has.
type idShape uint8

const (
	shapeResident18 idShape = iota + 1 // GB 11643-1999
	shapeResident15                    // GB 11643-1989, no check character
	shapeHMT                           // HK, Macau and Taiwan residence permit
	shapeForeign18                     // 2023 foreigner permanent residence card
	shapeForeign15                     // 2004 and 2017 foreigner cards: 3 letters + 12 digits
)

// idType returns the document kind of a shape.
func (s idShape) idType() schemas.IDType {
	switch s {
	case shapeHMT:
		return schemas.IDHMTPermit
	case shapeForeign18, shapeForeign15:
		return schemas.IDForeignPR
	default:
		return schemas.IDResident
	}
}

// ParseID normalizes raw with NormalizeID and validates it as an identity
// number. want is the document kind the department declared; "" infers it
// from the shape (810000/820000/830000 prefix: HK/Macau/Taiwan residence
// permit; 18 characters starting with 9: 2023 foreigner card; 3 letters
// and 12 digits: 2004 or 2017 foreigner card; otherwise resident). numeric
// says the cell was stored as a number (an XLSX number cell): spreadsheets
// keep 15 significant digits, so the number has lost digits for good and is
// rejected, never repaired.
//
// code is "" when the number is valid, else the reason for the reject:
// IDEmpty, IDBadLength, IDBadChars, IDBadChecksum, IDBadBirthDate (an
// impossible date, before 1850 or in the future), IDBadProvince (not a
// mainland province), IDBadNationality (a foreigner card's country code
// that does not exist), IDScientificNotation (a number cell, text such as
// 4.60102E+17, or 18 digits ending in 000 with a failing checksum — the
// zero padding of a number cell), IDTypeMismatch (the declared kind
// contradicts the shape) or IDTypeUnknown (want is not a known kind). On a
// reject the IDInfo is zero.
//
// An unknown county never rejects: numbers keep codes retired since 1980,
// and the list cannot be complete; it is reported as IDUnknownCounty.
func ParseID(raw string, want schemas.IDType, numeric bool) (IDInfo, schemas.Code) {
	s := NormalizeID(raw)
	if s == "" {
		return IDInfo{}, schemas.IDEmpty
	}
	// Excel keeps 15 significant digits: a 15-digit legacy number stored
	// as a number cell is intact. Anything longer has lost digits.
	if numeric && !(len(s) == 15 && isDigits(s)) {
		return IDInfo{}, schemas.IDScientificNotation
	}
	switch want {
	case "", schemas.IDResident, schemas.IDHMTPermit, schemas.IDForeignPR:
	default:
		return IDInfo{}, schemas.IDTypeUnknown
	}
	shape, code := classifyID(s)
	if code != "" {
		// A number rendered as text never has the shape of an ID, so it
		// is only looked for here, off the hot path.
		if looksScientific(s) {
			return IDInfo{}, schemas.IDScientificNotation
		}
		return IDInfo{}, code
	}
	if want != "" && want != shape.idType() {
		return IDInfo{}, schemas.IDTypeMismatch
	}
	switch shape {
	case shapeResident15:
		return parse15(s)
	case shapeForeign15:
		return parseForeign15(s)
	default:
		return parse18(s, shape)
	}
}

// classifyID checks the characters and length of a normalized number and
// tells its shape. Bad characters are reported before a bad length: a
// letter in the middle says more about the cell than its length does.
func classifyID(s string) (idShape, schemas.Code) {
	switch len(s) {
	case 18:
		if allDigits(s[:17]) && (isDigit(s[17]) || s[17] == 'X') {
			switch {
			case isPermitPrefix(s):
				return shapeHMT, ""
			case s[0] == '9':
				return shapeForeign18, ""
			default:
				return shapeResident18, ""
			}
		}
		return 0, schemas.IDBadChars
	case 15:
		switch {
		case isPermitPrefix(s):
			// A residence permit missing digits: converted as a 15-digit
			// resident number it would turn into a permit number.
			return 0, schemas.IDBadLength
		case allDigits(s):
			return shapeResident15, ""
		case isUpper(s[0]) && isUpper(s[1]) && isUpper(s[2]) && allDigits(s[3:]):
			return shapeForeign15, ""
		}
		return 0, schemas.IDBadChars
	}
	if !isCanonicalID(s) {
		return 0, schemas.IDBadChars
	}
	return 0, schemas.IDBadLength
}

// isPermitPrefix reports whether s starts like a residence permit for
// Hong Kong, Macau or Taiwan residents.
func isPermitPrefix(s string) bool {
	switch s[:6] {
	case "810000", "820000", "830000":
		return true
	}
	return false
}

// parse18 validates an 18-character number whose check character is the
// GB 11643 one. Resident numbers, residence permits and the 2023 foreigner
// card share positions 7-14 (birth date), 15-17 (sequence, the last odd for
// men) and 18 (check); positions 1-6 differ by shape:
//   - resident (GB 11643-1999, address code): the GB/T 2260 county of a
//     household registration, so its province is a mainland one;
//   - residence permit: 810000, 820000 or 830000, the whole code
//     (港澳台居民居住证申领发放办法, 国办发〔2018〕81号), matched by
//     classifyID;
//   - 2023 foreigner card (National Immigration Administration, 新版外国人
//     永久居留身份证机读信息规则, 2023): "9", then the mainland province of
//     the issuing authority (2 digits), then the nationality (3 digits: the
//     ISO 3166-1 numeric code that replaced the older cards' letters).
func parse18(s string, shape idShape) (IDInfo, schemas.Code) {
	switch shape {
	case shapeResident18:
		if !schemas.MainlandProvinceValid(s[:2]) {
			return IDInfo{}, schemas.IDBadProvince
		}
	case shapeForeign18:
		if !schemas.MainlandProvinceValid(s[1:3]) {
			return IDInfo{}, schemas.IDBadProvince
		}
		if !numericNationalityValid(s[3:6]) {
			return IDInfo{}, schemas.IDBadNationality
		}
	}
	birth, ok := birthDate(digits(s[6:10]), digits(s[10:12]), digits(s[12:14]))
	if !ok {
		return IDInfo{}, schemas.IDBadBirthDate
	}
	if checkChar(s) != s[17] {
		if strings.HasSuffix(s, "000") {
			// Excel shows a number cell with 15 significant digits and
			// pads the rest with zeros; the last digits are gone.
			return IDInfo{}, schemas.IDScientificNotation
		}
		return IDInfo{}, schemas.IDBadChecksum
	}
	info := IDInfo{Number: s, Type: shape.idType(), Birth: birth, Gender: genderOf(s[16])}
	if shape == shapeResident18 && !schemas.CountyKnown(s[:6]) {
		info.Warnings = []schemas.Code{schemas.IDUnknownCounty}
	}
	return info, ""
}

// parse15 validates a GB 11643-1989 number (region, YYMMDD, sequence; no
// check character) and converts it to 18 characters the way the 1999
// standard prescribes: insert the century 19 and append the check
// character.
func parse15(s string) (IDInfo, schemas.Code) {
	if !schemas.MainlandProvinceValid(s[:2]) {
		return IDInfo{}, schemas.IDBadProvince
	}
	birth, ok := birthDate(1900+digits(s[6:8]), digits(s[8:10]), digits(s[10:12]))
	if !ok {
		return IDInfo{}, schemas.IDBadBirthDate
	}
	var buf [18]byte
	copy(buf[:6], s[:6])
	buf[6], buf[7] = '1', '9'
	copy(buf[8:17], s[6:15])
	buf[17] = checkChar(string(buf[:17]))
	info := IDInfo{
		Number:   string(buf[:]),
		Type:     schemas.IDResident,
		Birth:    birth,
		Gender:   genderOf(s[14]),
		Warnings: []schemas.Code{schemas.IDLegacy15},
	}
	if !schemas.CountyKnown(s[:6]) {
		info.Warnings = append(info.Warnings, schemas.IDUnknownCounty)
	}
	return info, ""
}

// parseForeign15 validates the 15-character number of the 2004 and 2017
// foreigner cards: three letters for the nationality (ISO 3166-1 alpha-3,
// GB/T 2659; the 2023 rules above describe them as the letters the new
// card turns into digits), then twelve digits: the issuing authority's
// region (positions 4-7, a mainland province and a prefecture), the birth
// date as YYMMDD (8-13), a sequence digit and a check digit (14-15).
//
// The digits' layout is not in a published standard; it is the one public
// validators implement, and it mirrors the 2023 card (issuing province,
// then birth date). So only what would be wrong under any reading of it is
// refused: an unknown nationality, a province that does not exist, a date
// that exists in neither 19YY nor 20YY. The check digit is not verified,
// its algorithm never having been published, and the birth date is not
// returned, since its century would be a guess.
func parseForeign15(s string) (IDInfo, schemas.Code) {
	if !alpha3NationalityValid(s[:3]) {
		return IDInfo{}, schemas.IDBadNationality
	}
	if !schemas.MainlandProvinceValid(s[3:5]) {
		return IDInfo{}, schemas.IDBadProvince
	}
	yy, mm, dd := digits(s[7:9]), digits(s[9:11]), digits(s[11:13])
	if !birthDateValid(1900+yy, mm, dd) && !birthDateValid(2000+yy, mm, dd) {
		return IDInfo{}, schemas.IDBadBirthDate
	}
	return IDInfo{Number: s, Type: schemas.IDForeignPR}, ""
}

// idWeights are the GB 11643-1999 weights Wᵢ = 2^(18-i) mod 11.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// IDCheckChar returns the GB 11643-1999 check character (ISO 7064
// MOD 11-2, '0'-'9' or 'X') for the first 17 digits of an identity number.
// It returns 0 when first17 is not 17 ASCII digits.
func IDCheckChar(first17 string) byte {
	if len(first17) != 17 || !allDigits(first17) {
		return 0
	}
	return checkChar(first17)
}

// checkChar computes the check character of s, whose first 17 bytes the
// caller has verified to be digits.
func checkChar(s string) byte {
	s = s[:17] // one bounds check instead of 17
	sum := 0
	for i, w := range idWeights {
		sum += int(s[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// earliestBirth is the first year accepted in a birth date. The standard's
// own example is born in 1880; earlier dates are typing errors.
const earliestBirth = 1850

// cst is China Standard Time. China has had no daylight saving since 1991,
// so a fixed zone avoids depending on the host's zoneinfo.
var cst = time.FixedZone("CST", 8*60*60)

// startDay is the date (yyyymmdd, China time) when the process started.
// Time only moves forward, so a birth date up to it is never in the future
// and ParseID needs no clock read for almost every number.
var startDay = yyyymmdd(time.Now().In(cst))

func yyyymmdd(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// birthDate validates a birth date and returns it as midnight UTC. It
// rejects impossible dates, years before earliestBirth and dates after
// today in China.
func birthDate(y, m, d int) (time.Time, bool) {
	if !birthDateValid(y, m, d) {
		return time.Time{}, false
	}
	// time.Unix avoids the normalization work of time.Date, which shows in
	// the per-row cost.
	return time.Unix(daysSinceEpoch(y, m, d)*secondsPerDay, 0).UTC(), true
}

// birthDateValid is birthDate's test, for numbers whose date is checked
// but not returned.
func birthDateValid(y, m, d int) bool {
	if y < earliestBirth || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return false
	}
	day := y*10000 + m*100 + d
	return day <= startDay || day <= yyyymmdd(time.Now().In(cst))
}

const secondsPerDay = 24 * 60 * 60

// daysSinceEpoch returns the number of days from 1970-01-01 to the given
// valid Gregorian date (H. Hinnant's days_from_civil).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= earliestBirth-1, never negative
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}

// daysIn returns the number of days of month m in year y (Gregorian).
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}

// digits converts a short run of bytes the caller has verified to be
// ASCII digits.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// genderOf reads a sequence digit: odd numbers go to men, even to women.
func genderOf(c byte) byte {
	if (c-'0')%2 == 1 {
		return 'M'
	}
	return 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// looksScientific reports whether a normalized cell is a number rendered by
// a spreadsheet or a float conversion rather than the text of an ID:
// scientific notation (4.60102E+17, 4.601021990E17, 4,60102E+17) or an
// integer of 15 to 18 digits followed by a decimal separator and zeros
// (460102199001011000.0). Either way digits are lost.
func looksScientific(s string) bool {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i
	if intDigits == 0 || i == len(s) {
		return false // no leading digits, or a plain digit string
	}
	fracDigits, fracZeros := 0, true
	if s[i] == '.' || s[i] == ',' {
		i++
		for i < len(s) && isDigit(s[i]) {
			fracZeros = fracZeros && s[i] == '0'
			fracDigits++
			i++
		}
		if fracDigits == 0 {
			return false
		}
		if i == len(s) {
			return fracZeros && intDigits >= 15 && intDigits <= 18
		}
	}
	if s[i] != 'E' {
		return false
	}
	i++
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	exp := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i > exp && i == len(s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
