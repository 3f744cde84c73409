package cleanse

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/schemas"
)

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	type result struct {
		Name string
		Code schemas.Code
	}
	ok := func(s string) result { return result{s, ""} }
	bad := result{"", schemas.NameBadChars}
	const uygur = "阿卜杜拉·买买提"
	tests := []struct {
		name string
		raw  string
		want result
	}{
		{"plain", "张三", ok("张三")},
		{"extension B ideograph", "𠀀明", ok("𠀀明")},
		{"ideographic zero", "李〇", ok("李〇")},
		{"with middle dot", uygur, ok(uygur)},
		{"trimmed", "  张三\t", ok("张三")},
		{"ideographic space inside", "张\u3000三", ok("张三")},
		{"spaces inside", "张 三 丰", ok("张三丰")},
		{"zero-width space inside", "张\u200B三", ok("张三")},
		{"BOM", "\uFEFF张三", ok("张三")},
		{"compatibility ideograph", "\uF900三", ok("豈三")},
		{"Latin words keep one space", "JOHN   SMITH", ok("JOHN SMITH")},
		{"Latin with no-break space", "John\u00A0Smith", ok("John Smith")},
		{"full-width Latin", "ＪＯＨＮ　ＳＭＩＴＨ", ok("JOHN SMITH")},
		{"diacritics composed", "Jose\u0301 Garci\u0301a", ok("José García")},
		{"Cyrillic", "Иван Петров", ok("Иван Петров")},
		{"Chinese next to Latin", "王 Wang", ok("王Wang")},

		// Every middle-dot look-alike folds into U+00B7.
		{"katakana middle dot U+30FB", "阿卜杜拉\u30FB买买提", ok(uygur)},
		{"half-width katakana middle dot U+FF65", "阿卜杜拉\uFF65买买提", ok(uygur)},
		{"bullet U+2022", "阿卜杜拉\u2022买买提", ok(uygur)},
		{"hyphenation point U+2027", "阿卜杜拉\u2027买买提", ok(uygur)},
		{"dot operator U+22C5", "阿卜杜拉\u22C5买买提", ok(uygur)},
		{"bullet operator U+2219", "阿卜杜拉\u2219买买提", ok(uygur)},
		{"Greek ano teleia U+0387", "阿卜杜拉\u0387买买提", ok(uygur)},
		{"full-width full stop U+FF0E", "阿卜杜拉\uFF0E买买提", ok(uygur)},
		{"word separator middle dot U+2E31", "阿卜杜拉\u2E31买买提", ok(uygur)},
		{"one dot leader U+2024", "阿卜杜拉\u2024买买提", ok(uygur)},
		{"ASCII dot between Chinese", "阿卜杜拉.买买提", ok(uygur)},
		{"spaces around the dot", "阿卜杜拉 · 买买提", ok(uygur)},
		{"dot between Latin words", "JOHN\u2022SMITH", ok("JOHN·SMITH")},

		{"empty", "", result{"", schemas.NameEmpty}},
		{"blank", " \u3000\u200B", result{"", schemas.NameEmpty}},
		{"digit", "张三1", bad},
		{"full-width digit", "张三１", bad},
		{"control character", "张\x01三", bad},
		{"U+FFFD from a failed decode", "张\uFFFD", bad},
		{"private use character", "张\uE000", bad},
		{"invalid UTF-8", "张\xff", bad},
		{"leading dot", "·买买提", bad},
		{"trailing dot", "阿卜杜拉·", bad},
		{"double dot", "阿卜杜拉··买买提", bad},
		{"dot alone", "·", bad},
		{"ASCII dot between Latin letters", "J.SMITH", bad},
		{"comma", "张三,李四", bad},
		{"parentheses", "张三（曾用名）", bad},
		{"hyphen between Latin letters", "JEAN-PIERRE", result{Name: "JEAN-PIERRE"}},
		{"apostrophe between Latin letters", "O'NEIL", result{Name: "O'NEIL"}},
		{"hyphen at the end", "JEAN-", bad},
		{"hyphen next to Chinese", "张-三", bad},
		{"emoji", "张三😀", bad},
		{"leading combining mark", "\u0301张三", bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, code := NormalizeName(tt.raw)
			if diff := cmp.Diff(tt.want, result{name, code}); diff != "" {
				t.Errorf("NormalizeName(%q) mismatch (-want +got):\n%s", tt.raw, diff)
			}
			if again, _ := NormalizeName(name); again != name {
				t.Errorf("NormalizeName not idempotent: %q -> %q -> %q", tt.raw, name, again)
			}
		})
	}
}

// TestNormalizeNameNoAlloc is not parallel: allocation counts are global.
func TestNormalizeNameNoAlloc(t *testing.T) {
	for _, s := range []string{"张三", "阿卜杜拉·买买提"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = NormalizeName(s) }); n != 0 {
			t.Errorf("NormalizeName(%q) allocates %v times", s, n)
		}
	}
}

func BenchmarkNormalizeName(b *testing.B) {
	cases := []struct{ name, raw string }{
		{"plain", "张三丰"},
		{"middledot", "阿卜杜拉·买买提"},
		{"spaced", " 张 三 丰 "},
		{"lookalike", "阿卜杜拉\u30FB买买提"},
		{"latin", "JOHN  SMITH"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = NormalizeName(c.raw)
			}
		})
	}
}
