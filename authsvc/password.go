package authsvc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of an argon2id password hash.
type Argon2Params struct {
	// Memory is the memory one hash fills, in KiB; 0 means
	// DefaultArgon2.Memory. It is also what one hash in flight costs the
	// process, which is why PasswordHasher bounds how many run at once.
	Memory uint32
	// Time is the number of passes over the memory; 0 means
	// DefaultArgon2.Time.
	Time uint32
	// Threads is the number of lanes (argon2's parallelism); 0 means
	// DefaultArgon2.Threads. Above 1 it spreads one hash over as many
	// goroutines, which only helps while fewer logins than cores are in
	// flight.
	Threads uint8
	// SaltLen is the length of the random salt, in bytes; 0 means
	// DefaultArgon2.SaltLen.
	SaltLen uint32
	// KeyLen is the length of the derived hash, in bytes; 0 means
	// DefaultArgon2.KeyLen.
	KeyLen uint32
}

// DefaultArgon2 is OWASP's minimum for argon2id (19 MiB, two passes, one
// lane): the cheapest setting still recommended, because every login pays
// it and a login storm pays it once per attempt.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// The bounds Verify accepts in a stored hash. A hash comes from our own
// database, but one written by a bug or an intruder with m=4 GiB or t=10⁶
// must not turn a login into a denial of service.
const (
	maxArgon2Memory  = 1 << 21 // KiB: 2 GiB
	maxArgon2Time    = 100
	minArgon2SaltLen = 8 // the PHC string format's minimum
	maxArgon2SaltLen = 64
	minArgon2KeyLen  = 16
	maxArgon2KeyLen  = 128
)

// withDefaults returns p with its zero fields set from DefaultArgon2.
func (p Argon2Params) withDefaults() Argon2Params {
	if p.Memory == 0 {
		p.Memory = DefaultArgon2.Memory
	}
	if p.Time == 0 {
		p.Time = DefaultArgon2.Time
	}
	if p.Threads == 0 {
		p.Threads = DefaultArgon2.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = DefaultArgon2.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = DefaultArgon2.KeyLen
	}
	return p
}

// validate reports the first field of p outside what Verify accepts, so
// that a hasher never writes a hash it could not read back.
func (p Argon2Params) validate() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory:
		return fmt.Errorf("memory m=%d KiB outside [8 per lane, %d]", p.Memory, maxArgon2Memory)
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("passes t=%d outside [1, %d]", p.Time, maxArgon2Time)
	case p.Threads < 1:
		return errors.New("lanes p=0")
	case p.SaltLen < minArgon2SaltLen || p.SaltLen > maxArgon2SaltLen:
		return fmt.Errorf("salt of %d bytes outside [%d, %d]", p.SaltLen, minArgon2SaltLen, maxArgon2SaltLen)
	case p.KeyLen < minArgon2KeyLen || p.KeyLen > maxArgon2KeyLen:
		return fmt.Errorf("hash of %d bytes outside [%d, %d]", p.KeyLen, minArgon2KeyLen, maxArgon2KeyLen)
	}
	return nil
}

// ErrMalformedPasswordHash is wrapped by the errors of PasswordHasher.Verify
// when the stored hash is not an argon2id PHC string it can read.
var ErrMalformedPasswordHash = errors.New("malformed password hash")

// PasswordHasher hashes and verifies passwords with argon2id, running at
// most a fixed number of hashes at once: each fills Argon2Params.Memory, so
// a login storm left unbounded would exhaust the process's memory instead
// of queueing. It is safe for concurrent use.
type PasswordHasher struct {
	params Argon2Params
	// sem holds one token per hash in flight.
	sem chan struct{}
	// dummy is a PHC string with the hasher's parameters and a random salt
	// and hash, which no password matches: what VerifyDummy verifies
	// against.
	dummy string
	// idKey is argon2.IDKey; tests replace it to hold hashes in flight.
	idKey func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
}

// NewPasswordHasher returns a hasher that writes hashes with p (zero fields
// take DefaultArgon2's values) and runs at most concurrency hashes at once;
// concurrency <= 0 means runtime.GOMAXPROCS(0), as argon2 is CPU-bound and
// more hashes in flight than cores only add memory, not throughput.
//
// NewPasswordHasher panics when p is outside the bounds Verify accepts,
// since every hash it wrote would then be unreadable.
func NewPasswordHasher(p Argon2Params, concurrency int) *PasswordHasher {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		panic("authsvc.NewPasswordHasher: " + err.Error())
	}
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	salt := make([]byte, p.SaltLen)
	key := make([]byte, p.KeyLen)
	// crypto/rand.Read never returns an error: it crashes the program
	// when the system's generator fails.
	rand.Read(salt)
	rand.Read(key)
	return &PasswordHasher{
		params: p,
		sem:    make(chan struct{}, concurrency),
		dummy:  encodePHC(p, salt, key),
		idKey:  argon2.IDKey,
	}
}

// Hash returns the argon2id hash of password as a PHC string,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> with the salt and hash in
// unpadded standard base64. The error is ctx's when it ends while Hash
// waits for a free slot.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", fmt.Errorf("PasswordHasher.Hash: %w", err)
	}
	return encodePHC(h.params, salt, key), nil
}

// Verify reports whether password matches phc, a PHC string written by
// Hash, with the parameters phc names rather than the hasher's, so hashes
// written before a parameter change still verify (see NeedsRehash). The
// error wraps ErrMalformedPasswordHash when phc cannot be read, or is ctx's
// when it ends while Verify waits for a free slot; ok is then false.
func (h *PasswordHasher) Verify(ctx context.Context, password, phc string) (ok bool, err error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, fmt.Errorf("PasswordHasher.Verify: %w", err)
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, fmt.Errorf("PasswordHasher.Verify: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends what Verify spends on a hash with the hasher's
// parameters, against a hash no password matches. A login naming an
// account that does not exist, or one without a password, calls it so that
// its response time does not tell an attacker which accounts exist.
func (h *PasswordHasher) VerifyDummy(ctx context.Context, password string) {
	// The outcome is known (false) and a ctx error needs no report: the
	// caller answers "wrong account or password" either way.
	_, _ = h.Verify(ctx, password, h.dummy)
}

// NeedsRehash reports whether phc was written with parameters other than
// the hasher's, or cannot be read at all: after a successful login the
// caller then stores Hash of the password just verified, so raising the
// parameters takes effect as citizens log in.
func (h *PasswordHasher) NeedsRehash(phc string) bool {
	p, _, _, err := parsePHC(phc)
	return err != nil || p != h.params
}

// derive runs argon2id once a slot is free. A ctx already ended is
// reported even when a slot is free, so a request whose client has gone
// does not spend a hash.
func (h *PasswordHasher) derive(ctx context.Context, password string, salt []byte, p Argon2Params) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("waiting for a hashing slot: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a hashing slot: %w", ctx.Err())
	}
	defer func() { <-h.sem }()
	return h.idKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// encodePHC formats an argon2id hash in the PHC string format, the one
// libsodium, the reference implementation and most libraries read.
func encodePHC(p Argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// parsePHC reads a string written by encodePHC: exactly that layout, the
// parameters in that order, canonical base64, and values within the bounds
// above. SaltLen and KeyLen of the returned parameters are the lengths
// found. Its errors never quote phc, which is a credential.
func parsePHC(phc string) (p Argon2Params, salt, key []byte, err error) {
	bad := func(format string, args ...any) (Argon2Params, []byte, []byte, error) {
		return Argon2Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedPasswordHash, fmt.Sprintf(format, args...))
	}
	fields := strings.Split(phc, "$")
	if len(fields) != 6 || fields[0] != "" {
		return bad("want 5 fields each after a $")
	}
	if fields[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version is not v=%d", argon2.Version)
	}
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return bad("want parameters m, t and p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return bad("parameter %d is not %s", i+1, name)
		}
		// ParseUint refuses signs and spaces; a leading zero is not
		// canonical and refused too, so one hash has one spelling.
		if len(v) > 1 && v[0] == '0' {
			return bad("parameter %s has a leading zero", name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter %s is not a number", name)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return bad("parameter p=%d above 255", vals[2])
	}
	enc := base64.RawStdEncoding.Strict()
	if salt, err = enc.DecodeString(fields[4]); err != nil {
		return bad("salt is not unpadded base64")
	}
	if key, err = enc.DecodeString(fields[5]); err != nil {
		return bad("hash is not unpadded base64")
	}
	p = Argon2Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.validate(); err != nil {
		return bad("%v", err)
	}
	return p, salt, key, nil
}

// PasswordFacts are what is known of the citizen choosing a password, from
// the fused account: a password built from them is the first thing anyone
// who knows the citizen tries. Each is as the registry holds it
// (normalized) and may be empty.
type PasswordFacts struct {
	// Name is the name in Chinese characters, those of an ethnic
	// minority's transliterated name separated by the middle dot
	// (阿依古丽·买买提).
	Name string
	// IDNumber is the 18-character resident ID number, whose characters
	// 7–14 are the birth date YYYYMMDD.
	IDNumber string
	// Phone is the 11-digit mobile number.
	Phone string
}

// PasswordError is a password refused by CheckPassword: Code names the
// broken rule for the client and the audit log, Message tells the citizen.
type PasswordError struct {
	// Code is one of PASSWORD_LENGTH, PASSWORD_CHARS, PASSWORD_CLASSES,
	// PASSWORD_COMMON, PASSWORD_NAME, PASSWORD_ID and PASSWORD_PHONE.
	Code string
	// Message is the rule in Chinese, fit to show on the form.
	Message string
}

// Error returns the message, so that an error shown as is still speaks to
// the citizen.
func (e *PasswordError) Error() string { return e.Message }

// The password rules, in the order CheckPassword applies them.
const (
	passwordLengthMsg  = "密码长度须为8至20位"
	passwordCharsMsg   = "密码只能包含数字、字母和英文特殊字符"
	passwordClassesMsg = "密码须同时包含数字、字母和特殊字符"
	passwordCommonMsg  = "密码过于常见，请换一个"
	passwordNameMsg    = "密码不能包含姓名拼音"
	passwordIDMsg      = "密码不能包含证件号码或出生日期"
	passwordPhoneMsg   = "密码不能包含手机号码"

	minPasswordLen = 8
	maxPasswordLen = 20
)

// CheckPassword applies the password policy of the unified login and
// returns a *PasswordError for the first rule password breaks, or nil:
//
//   - PASSWORD_LENGTH: 8 to 20 characters;
//   - PASSWORD_CHARS: printable ASCII only, as the password is typed on
//     any keyboard, and a full-width or Chinese character is typed
//     differently by different input methods;
//   - PASSWORD_CLASSES: at least one digit, one letter and one special
//     character (printable ASCII other than a letter, digit or space);
//   - PASSWORD_COMMON: not a common password, nor one followed by digits
//     or special characters (password123!);
//   - PASSWORD_NAME: not containing the pinyin of the whole name, of the
//     given name or of each part of a dotted name, under every reading of
//     its characters (单 as shan and dan), nor being the name's initials
//     with only digits and special characters (zs@123456);
//   - PASSWORD_ID: not containing the ID number or the birth date in it
//     (YYYYMMDD or YYMMDD);
//   - PASSWORD_PHONE: not containing the phone number.
//
// Letters are compared without case throughout.
func CheckPassword(password string, f PasswordFacts) error {
	if n := utf8.RuneCountInString(password); n < minPasswordLen || n > maxPasswordLen {
		return &PasswordError{"PASSWORD_LENGTH", passwordLengthMsg}
	}
	var digit, letter, special bool
	for _, r := range password {
		switch {
		case r < ' ' || r > '~':
			return &PasswordError{"PASSWORD_CHARS", passwordCharsMsg}
		case '0' <= r && r <= '9':
			digit = true
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			letter = true
		case r != ' ':
			special = true
		}
	}
	if !digit || !letter || !special {
		return &PasswordError{"PASSWORD_CLASSES", passwordClassesMsg}
	}
	// From here on the password is ASCII.
	lower := strings.ToLower(password)
	if isCommonPassword(lower) {
		return &PasswordError{"PASSWORD_COMMON", passwordCommonMsg}
	}
	if nameInPassword(lower, f.Name) {
		return &PasswordError{"PASSWORD_NAME", passwordNameMsg}
	}
	if idInPassword(lower, f.IDNumber) {
		return &PasswordError{"PASSWORD_ID", passwordIDMsg}
	}
	if phoneInPassword(lower, f.Phone) {
		return &PasswordError{"PASSWORD_PHONE", passwordPhoneMsg}
	}
	return nil
}

// commonPasswordList holds the common passwords, one a line, lower-case:
// the global top lists, the common Chinese ones (woaini1314, 5201314) and
// the variants of both that pass the class rules (P@ssw0rd, Aa123456!),
// which are what a policy like ours makes people pick.
//
//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords is commonPasswordList as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{})
	for line := range strings.Lines(commonPasswordList) {
		if w := strings.TrimSpace(line); w != "" {
			set[w] = struct{}{}
		}
	}
	return set
})

// minCommonStem is the shortest listed word that still makes a password
// common when digits or special characters follow it: shorter ones (abc,
// qwe) are too common a part of good passwords to refuse.
const minCommonStem = 6

// isCommonPassword reports whether lower, a lower-cased ASCII password, is
// listed, or is a listed word of at least minCommonStem characters followed
// by runs of digits and special characters: it peels the trailing runs off
// one at a time (password123! → password123 → password), since appending
// a number and a symbol to a common word is how people meet the class
// rules.
func isCommonPassword(lower string) bool {
	set := commonPasswords()
	if _, ok := set[lower]; ok {
		return true
	}
	s := lower
	for s != "" && !isASCIILetter(s[len(s)-1]) {
		digits := isASCIIDigit(s[len(s)-1])
		i := len(s)
		for i > 0 && !isASCIILetter(s[i-1]) && isASCIIDigit(s[i-1]) == digits {
			i--
		}
		s = s[:i]
		if len(s) >= minCommonStem {
			if _, ok := set[s]; ok {
				return true
			}
		}
	}
	return false
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isASCIIDigit(c byte) bool  { return '0' <= c && c <= '9' }

// The pinyin of names.
const (
	// maxNameSpellings caps the spellings tried for one name (or part):
	// the readings multiply, and a long transliterated name whose every
	// character has three readings would otherwise have thousands.
	maxNameSpellings = 64
	// minNameSpelling is the shortest spelling a password may not contain:
	// a shorter one (li, an, yi) is part of too many unrelated words.
	minNameSpelling = 3
	// minNameInitials is the shortest initials a password's letters may
	// not be.
	minNameInitials = 2
)

// pinyinArgs asks go-pinyin for every reading of a character, toneless;
// a character without one (a Latin letter, a symbol) gives none and is
// skipped.
var pinyinArgs = pinyin.Args{Style: pinyin.Normal, Heteronym: true}

// surnamePinyin holds the readings of characters as a surname that differ
// from, or are not first among, their dictionary readings: 单 is dan in
// a sentence but Shan in 单雄信, and a citizen spells their own name the
// way it is said.
var surnamePinyin = map[rune][]string{
	'单': {"shan"}, '曾': {"zeng"}, '解': {"xie"}, '仇': {"qiu"}, '区': {"ou"},
	'朴': {"piao"}, '查': {"zha"}, '盖': {"ge"}, '乐': {"yue", "le"}, '缪': {"miao"},
	'覃': {"qin"}, '翟': {"zhai"}, '召': {"shao"}, '繁': {"po"}, '员': {"yun"},
	'种': {"chong"}, '秘': {"bi"}, '过': {"guo"}, '句': {"gou"}, '能': {"nai"},
	'黑': {"he"}, '冼': {"xian"}, '宓': {"mi"}, '折': {"she"},
}

// compoundSurnamePinyin holds the two-character surnames read otherwise
// than their characters' first readings, one syllable per character.
var compoundSurnamePinyin = map[string][2]string{
	"万俟": {"mo", "qi"},
	"尉迟": {"yu", "chi"},
	"长孙": {"zhang", "sun"},
}

// compoundSurnames are the common two-character surnames, to find where
// the given name starts: for 欧阳娜娜 it is nana, not yangnana.
var compoundSurnames = map[string]bool{
	"欧阳": true, "上官": true, "司马": true, "诸葛": true, "东方": true, "皇甫": true,
	"尉迟": true, "公孙": true, "慕容": true, "长孙": true, "宇文": true, "司徒": true,
	"夏侯": true, "轩辕": true, "令狐": true, "端木": true, "南宫": true, "西门": true,
	"万俟": true, "独孤": true, "呼延": true, "澹台": true, "公冶": true, "太史": true,
	"申屠": true, "闻人": true, "濮阳": true, "钟离": true, "赫连": true, "百里": true,
	"东郭": true, "第五": true, "左丘": true, "公羊": true, "拓跋": true, "淳于": true,
	"单于": true, "司空": true, "司寇": true, "巫马": true, "乐正": true, "梁丘": true,
	"羊舌": true, "微生": true, "公西": true, "段干": true, "亓官": true, "宗政": true,
}

// isNameSeparator reports whether r separates the parts of a name: the
// middle dot U+00B7, the characters typed in its place (katakana and
// half-width katakana middle dots, bullets, the hyphenation point, dot and
// bullet operators, the Greek ano teleia, full-width and ASCII full stops,
// the one-dot leader) and spaces.
func isNameSeparator(r rune) bool {
	switch r {
	case '\u00B7', '\u30FB', '\uFF65', '\u2022', '\u2027', '\u22C5', '\u2219', '\u0387', '\uFF0E', '\u2E31', '\u2024', '.':
		return true
	}
	return unicode.IsSpace(r)
}

// hanReadings returns the toneless readings of r, the dictionary's first
// reading first, each reading with ü (go-pinyin's v) also spelled u and
// yu, as in lu and lyu for 吕; nil when r has none.
func hanReadings(r rune) []string {
	var out []string
	for _, py := range pinyin.SinglePinyin(r, pinyinArgs) {
		out = append(out, py)
		if strings.Contains(py, "v") {
			out = append(out, strings.ReplaceAll(py, "v", "u"), strings.ReplaceAll(py, "v", "yu"))
		}
	}
	return out
}

// namePinyin returns the spellings a password must not contain (words) and
// the initials its letters must not be (initials) for a name:
//
//   - the whole name, the parts of a dotted name joined, and its initials
//     (zhangsan, zs);
//   - the given name alone (san): the characters after a surname of one
//     character, and after a compound surname (欧阳) when the name starts
//     with one;
//   - each part of a dotted name (ayiguli, maimaiti).
//
// Each is spelled under every combination of its characters' readings, up
// to maxNameSpellings, the most likely first: for the first character of
// an undotted name its readings as a surname (单 shan) before its
// dictionary ones (dan, chan), since either may be how the citizen spells
// it. Words shorter than minNameSpelling letters and initials shorter than
// minNameInitials are left out.
func namePinyin(name string) (words, initials []string) {
	var parts [][]rune
	for _, part := range strings.FieldsFunc(name, isNameSeparator) {
		var han []rune
		for _, r := range part {
			if len(hanReadings(r)) > 0 {
				han = append(han, r)
			}
		}
		if len(han) > 0 {
			parts = append(parts, han)
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	slotsOf := func(han []rune) [][]string {
		slots := make([][]string, len(han))
		for i, r := range han {
			slots[i] = hanReadings(r)
		}
		return slots
	}
	seenWord := make(map[string]bool)
	addWords := func(slots [][]string) {
		for _, c := range pinyinCombos(slots, maxNameSpellings) {
			w := strings.Join(c, "")
			if len(w) >= minNameSpelling && !seenWord[w] {
				seenWord[w] = true
				words = append(words, w)
			}
		}
	}

	var whole [][]string
	if len(parts) == 1 {
		whole = slotsOf(parts[0])
		han := parts[0]
		if len(han) >= 2 {
			if syl, ok := compoundSurnamePinyin[string(han[:2])]; ok {
				whole[0] = prependReadings(whole[0], syl[0])
				whole[1] = prependReadings(whole[1], syl[1])
			} else if syl, ok := surnamePinyin[han[0]]; ok {
				whole[0] = prependReadings(whole[0], syl...)
			}
			addWords(whole[1:])
			if len(han) >= 3 && compoundSurnames[string(han[:2])] {
				addWords(whole[2:])
			}
		}
	} else {
		for _, han := range parts {
			slots := slotsOf(han)
			addWords(slots)
			whole = append(whole, slots...)
		}
	}

	seenInitials := make(map[string]bool)
	for _, c := range pinyinCombos(whole, maxNameSpellings) {
		w := strings.Join(c, "")
		if len(w) >= minNameSpelling && !seenWord[w] {
			seenWord[w] = true
			words = append(words, w)
		}
		var b strings.Builder
		for _, syl := range c {
			b.WriteByte(syl[0])
		}
		if in := b.String(); len(in) >= minNameInitials && !seenInitials[in] {
			seenInitials[in] = true
			initials = append(initials, in)
		}
	}
	return words, initials
}

// prependReadings returns readings with first in front, each once.
func prependReadings(readings []string, first ...string) []string {
	out := slices.Clone(first)
	for _, r := range readings {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// pinyinCombos returns up to limit spellings of a run of characters, one
// reading chosen from each slot, ordered by the sum of the chosen
// readings' ranks (then by the ranks, first slot first): the first readings
// of every character come first and a cap cuts the least likely mixes.
// Every slot must have a reading.
func pinyinCombos(slots [][]string, limit int) [][]string {
	n := len(slots)
	if n == 0 || limit <= 0 {
		return nil
	}
	// spare[i] is the rank the slots from i on can take up at most.
	spare := make([]int, n+1)
	for i := n - 1; i >= 0; i-- {
		spare[i] = spare[i+1] + len(slots[i]) - 1
	}
	var out [][]string
	pick := make([]string, n)
	// walk fills pick[i:] with ranks summing to exactly budget; false
	// means the limit is reached. Each branch it takes ends in a
	// spelling, so the work is bounded by what it returns.
	var walk func(i, budget int) bool
	walk = func(i, budget int) bool {
		if i == n {
			out = append(out, slices.Clone(pick))
			return len(out) < limit
		}
		for r := max(0, budget-spare[i+1]); r <= min(budget, len(slots[i])-1); r++ {
			pick[i] = slots[i][r]
			if !walk(i+1, budget-r) {
				return false
			}
		}
		return true
	}
	for level := 0; level <= spare[0]; level++ {
		if !walk(0, level) {
			break
		}
	}
	return out
}

// nameInPassword reports whether lower, a lower-cased ASCII password,
// contains a spelling of name, or whether its letters are the name's
// initials (zs123456!): initials are too short to refuse inside other
// letters, but alone with digits they are as guessable as the name.
func nameInPassword(lower, name string) bool {
	words, initials := namePinyin(name)
	for _, w := range words {
		if strings.Contains(lower, w) {
			return true
		}
	}
	if len(initials) == 0 {
		return false
	}
	letters := strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && isASCIILetter(byte(r)) {
			return r
		}
		return -1
	}, lower)
	return slices.Contains(initials, letters)
}

// minIDLen is the shortest ID number whose whole is refused: anything
// shorter is a typing slip in the registry, not an ID number.
const minIDLen = 6

// idInPassword reports whether lower contains the ID number (its X in
// either case) or, for an 18-character resident ID, the birth date in it
// as YYYYMMDD or YYMMDD.
func idInPassword(lower, id string) bool {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < minIDLen {
		return false
	}
	if strings.Contains(lower, id) {
		return true
	}
	if len(id) != 18 {
		return false
	}
	birth := id[6:14]
	for i := range len(birth) {
		if !isASCIIDigit(birth[i]) {
			return false
		}
	}
	return strings.Contains(lower, birth) || strings.Contains(lower, birth[2:])
}

// phoneInPassword reports whether lower contains phone, an 11-digit mobile
// number; the digits are taken alone and a country code 86 dropped, in case
// phone was kept as typed.
func phoneInPassword(lower, phone string) bool {
	digits := strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, phone)
	if len(digits) == 13 && strings.HasPrefix(digits, "86") {
		digits = digits[2:]
	}
	return len(digits) == 11 && strings.Contains(lower, digits)
}
