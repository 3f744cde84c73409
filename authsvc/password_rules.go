package authsvc

import (
	_ "embed"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/idfusion/idfusion/authsvc/internal/commonpw"
)

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
	passwordIDMsg      = "密码不能包含证件号码中连续6位及以上的字符（如出生日期、末6位）"
	passwordPhoneMsg   = "密码不能包含手机号码中连续6位及以上的数字"

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
//   - PASSWORD_COMMON: not a common password (of a list of several
//     thousand: leaked ones, pinyin, keyboard walks, Hainan's places),
//     nor a listed word with digits and special characters around it or
//     in leetspeak (Hainan@2024, P@ssw0rd123; see isCommonPassword);
//   - PASSWORD_NAME: not containing the pinyin of the whole name, of the
//     given name or of each part of a dotted name, under every reading of
//     its characters (单 as shan and dan), nor being the name's initials
//     with only digits and special characters (zs@123456);
//   - PASSWORD_ID: not containing 6 or more consecutive characters of the
//     ID number (the birth date, the last six), also among other
//     characters (19.90.01.01);
//   - PASSWORD_PHONE: not containing 6 or more consecutive digits of the
//     phone number, so too.
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

// commonPasswordList holds the common passwords and password stems, one a
// line after a header naming their sources: zxcvbn's most frequent leaked
// passwords, and the common Chinese patterns (pinyin love words and
// numbers, keyboard walks, Hainan's place names, the words of the
// province's systems). Written by commonpw/gencommonpw, never by hand.
//
//go:embed common_passwords.txt
var commonPasswordList string

// commonPasswords is commonPasswordList parsed, on first use.
var commonPasswords = sync.OnceValue(func() *commonpw.List { return commonpw.Parse(commonPasswordList) })

// isCommonPassword reports whether lower, a lower-cased ASCII password, is
// a common password or an obvious variant of one (commonpw.List.IsCommon):
// a listed word with capitals, a symbol and a year or digits around it
// (Hainan@2024), in leetspeak (P@ssw0rd123), since that is how people meet
// the class rules.
func isCommonPassword(lower string) bool { return commonPasswords().IsCommon(lower) }

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isASCIIDigit(c byte) bool  { return '0' <= c && c <= '9' }

// minSharedDigits is the shortest run of an ID number's or a phone's
// digits a password may not hold: six are the birth date as YYMMDD, or the
// last six of either, which anyone holding a copy of the ID card or the
// phone number reads off it.
const minSharedDigits = 6

// idInPassword reports whether lower holds minSharedDigits or more
// consecutive characters of the ID number, anywhere in it (the region, the
// birth date, the sequence; the check character X, in either case, as
// part of its tail), or whether the password's digits read alone do
// (19.90.01.01): the password's letters and symbols do not hide them.
func idInPassword(lower, id string) bool {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < minSharedDigits {
		return false
	}
	digits := digitsOf(lower)
	for k := 0; k+minSharedDigits <= len(id); k++ {
		w := id[k : k+minSharedDigits]
		tail := k+minSharedDigits == len(id) && w[len(w)-1] == 'x'
		if tail {
			if isDigits(w[:len(w)-1]) && strings.Contains(lower, w) {
				return true
			}
			continue
		}
		if isDigits(w) && strings.Contains(digits, w) {
			return true
		}
	}
	return false
}

// phoneInPassword reports whether lower, or its digits read alone, holds
// minSharedDigits or more consecutive digits of phone (a mobile number;
// its digits are taken alone and a country code 86 dropped, in case phone
// was kept as typed).
func phoneInPassword(lower, phone string) bool {
	p := digitsOf(phone)
	if len(p) == 13 && strings.HasPrefix(p, "86") {
		p = p[2:]
	}
	digits := digitsOf(lower)
	for k := 0; k+minSharedDigits <= len(p); k++ {
		if strings.Contains(digits, p[k:k+minSharedDigits]) {
			return true
		}
	}
	return false
}

// digitsOf returns the ASCII digits of s, in order.
func digitsOf(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// isDigits reports whether s is ASCII digits only.
func isDigits(s string) bool {
	for i := range len(s) {
		if !isASCIIDigit(s[i]) {
			return false
		}
	}
	return true
}
