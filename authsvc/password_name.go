package authsvc

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mozillazg/go-pinyin"
)

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
