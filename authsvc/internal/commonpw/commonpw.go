// Package commonpw recognizes common passwords, and the variants people
// make of them to meet a policy's character classes: capitals, a symbol,
// a year or a run of digits around a listed word (Hainan@2024,
// Woaini@1314), leetspeak inside it (P@ssw0rd123).
//
// Its list is text, one entry a line: authsvc embeds one
// (common_passwords.txt) and gencommonpw writes it.
package commonpw

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// MinStem is the shortest entry that makes a password common whatever
// digits and symbols surround it (hainan, woaini). A shorter entry (qq,
// abc, admin, sanya) does so only when the numbers around it are
// guessable (see IsCommon): too many good passwords hold such a word
// beside random digits for it to be refused outright.
const MinStem = 6

// maxGuessDigits is the most digits around a short entry that are guessed
// by trying them all: Admin#2931 is among the first ten thousand guesses
// for admin. Only around an entry of minGuessWord characters or more: a
// letter or two (a, qq) beside a few random digits and symbols is a
// random-looking password (A!3#9$%^), refused only beside common numbers
// (a123456, qq5201314).
const (
	maxGuessDigits = 4
	minGuessWord   = 3
)

// List is a set of common passwords and password stems, lower-case ASCII.
// It is read-only once made, so safe for concurrent use; Prune alone
// changes it.
type List struct {
	set map[string]struct{}
}

// Parse reads a list: one entry a line; blank lines and lines starting
// with # (the header naming sources and licences) are skipped, and each
// entry is taken lower-cased, as IsCommon compares it.
func Parse(text string) *List {
	l := &List{set: make(map[string]struct{})}
	for line := range strings.Lines(text) {
		w := strings.TrimSpace(line)
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		l.set[strings.ToLower(w)] = struct{}{}
	}
	return l
}

// New returns a list of words, lower-cased.
func New(words []string) *List {
	l := &List{set: make(map[string]struct{}, len(words))}
	for _, w := range words {
		l.set[strings.ToLower(w)] = struct{}{}
	}
	return l
}

// Len returns the number of entries.
func (l *List) Len() int { return len(l.set) }

// Has reports whether w is an entry, as it is.
func (l *List) Has(w string) bool {
	_, ok := l.set[w]
	return ok
}

// IsCommon reports whether lower, a lower-cased ASCII password, is common:
//
//   - it is an entry;
//   - or it is an entry (or a leetspeak spelling of one: @ and 4 for a, 3
//     for e, 1 and ! for i or l, 0 for o, $ and 5 for s, 7 and + for t)
//     with only digits and symbols before and after it, the entry having
//     at least MinStem characters (hainan@2024, 2024!p@ssw0rd);
//   - or it is a shorter entry so surrounded whose surrounding digits are
//     guessable: each run of them a common number (qq@5201314,
//     abc123456!), or, around an entry of minGuessWord characters or
//     more, at most maxGuessDigits of them (admin#7391);
//   - or it has no letter and its digits are so guessable (5201314!).
//
// An entry inside letters does not count (xpassword1!): the letters
// around it are what an attacker has to guess.
func (l *List) IsCommon(lower string) bool {
	if l.Has(lower) {
		return true
	}
	if strings.IndexFunc(lower, isLetter) < 0 {
		// Digits and symbols only: common when its numbers are.
		return lower != "" && l.guessableNumbers("", lower, "")
	}
	found := false
	l.stems(lower, func(w, before, after string) bool {
		found = len(w) >= MinStem || l.guessableNumbers(w, before, after)
		return !found
	})
	return found
}

// stems calls yield with every entry w that lower is, or holds between
// runs of digits and symbols (before and after, each possibly empty),
// as written or in leetspeak; it stops when yield returns false.
func (l *List) stems(lower string, yield func(w, before, after string) bool) {
	first := strings.IndexFunc(lower, isLetter)
	if first < 0 {
		return // no letter: no entry stands in it between digits
	}
	last := strings.LastIndexFunc(lower, isLetter)
	var variants [3]string
	for i := 0; i <= first; i++ {
		for j := last + 1; j <= len(lower); j++ {
			core := lower[i:j]
			vs := append(variants[:0], core)
			if strings.ContainsAny(core, leetChars) {
				vs = append(vs, deleetI.Replace(core), deleetL.Replace(core))
			}
			for _, w := range vs {
				if l.Has(w) && !yield(w, lower[:i], lower[j:]) {
					return
				}
			}
		}
	}
}

// The leetspeak spellings undone, with 1 (and !) read as i in one and as
// l in the other (adm1n, 1ov3).
const leetChars = "@4310!$57+|"

var (
	deleetI = strings.NewReplacer("@", "a", "4", "a", "3", "e", "1", "i", "!", "i", "0", "o", "$", "s", "5", "s", "7", "t", "+", "t", "|", "l")
	deleetL = strings.NewReplacer("@", "a", "4", "a", "3", "e", "1", "l", "!", "l", "0", "o", "$", "s", "5", "s", "7", "t", "+", "t", "|", "l")
)

// guessableNumbers reports whether the digits in before and after, what
// surrounds the short entry w, are guessed with it: every run of them a
// common number, or, when w has minGuessWord characters or more, at most
// maxGuessDigits of them all told.
func (l *List) guessableNumbers(w, before, after string) bool {
	if len(w) >= minGuessWord && countDigits(before)+countDigits(after) <= maxGuessDigits {
		return true
	}
	for _, s := range [2]string{before, after} {
		for run := range strings.FieldsFuncSeq(s, func(r rune) bool { return !isDigit(r) }) {
			if !l.IsCommonNumber(run) {
				return false
			}
		}
	}
	return true
}

func isLetter(r rune) bool { return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' }
func isDigit(r rune) bool  { return '0' <= r && r <= '9' }

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if isDigit(r) {
			n++
		}
	}
	return n
}

// Prune removes the entries that the others already cover, so that a list
// holds only entries that change what IsCommon and IsCommonNumber answer:
// a variant of another entry (password1 and p@ssw0rd beside password), a
// number following a rule (123456, 19900101), an entry too short to be
// consulted (12), or one without a letter that is not a number (!@#$%^,
// which no password with a letter is). It returns them, sorted.
func (l *List) Prune() []string {
	// Longest first: a variant is longer than what it varies.
	entries := slices.SortedFunc(maps.Keys(l.set), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), cmp.Compare(a, b))
	})
	var removed []string
	for _, e := range entries {
		delete(l.set, e)
		if l.covered(e) {
			removed = append(removed, e)
		} else {
			l.set[e] = struct{}{}
		}
	}
	slices.Sort(removed)
	return removed
}

// covered reports whether the list, which does not hold e, already
// answers for every password as it would with e.
func (l *List) covered(e string) bool {
	if strings.IndexFunc(e, isLetter) < 0 {
		return strings.IndexFunc(e, func(r rune) bool { return !isDigit(r) }) >= 0 ||
			len(e) < minCommonNumber || isPatternNumber(e)
	}
	found := false
	l.stems(e, func(w, before, after string) bool {
		// An entry of MinStem characters inside e covers every
		// password e does; a shorter one when e adds no digit to it
		// (a symbol, leetspeak), the numbers around being the same,
		// and both are judged alike (see minGuessWord).
		found = len(w) >= MinStem || countDigits(before)+countDigits(after) == 0 &&
			(len(w) >= minGuessWord) == (len(e) >= minGuessWord)
		return !found
	})
	return found
}
