package authsvc

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idfusion/idfusion/authsvc/internal/commonpw"
)

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	zhangSan := PasswordFacts{Name: "张三", IDNumber: "460102199001011234", Phone: "13912349071"}
	tests := []struct {
		name     string
		password string
		facts    PasswordFacts
		want     string // the code, "" when the password passes
	}{
		{"good", "K9#vTq2!mZ", zhangSan, ""},
		{"good with no facts", "K9#vTq2!mZ", PasswordFacts{}, ""},
		{"space is allowed but no special", "Kv 9tq2Lm", PasswordFacts{}, "PASSWORD_CLASSES"},
		{"space beside a special", "Kv 9#tq2Lm", PasswordFacts{}, ""},

		{"7 characters", "K9#vTq2", zhangSan, "PASSWORD_LENGTH"},
		{"8 characters", "K9#vTq2m", zhangSan, ""},
		{"20 characters", "K9#vTq2!mZK9#vTq2!mZ", zhangSan, ""},
		{"21 characters", "K9#vTq2!mZK9#vTq2!mZx", zhangSan, "PASSWORD_LENGTH"},
		{"empty", "", zhangSan, "PASSWORD_LENGTH"},
		// Counted in characters, not bytes: 8 Chinese characters are 24
		// bytes, and reach the character rule.
		{"8 Chinese characters", "海南海南海南海南", zhangSan, "PASSWORD_CHARS"},
		{"4 Chinese characters", "海南省府", zhangSan, "PASSWORD_LENGTH"},

		{"Chinese characters", "海南Ab12!@cd", zhangSan, "PASSWORD_CHARS"},
		{"full-width letter", "Ｋ9#vTq2!mZ", zhangSan, "PASSWORD_CHARS"},
		{"full-width exclamation mark", "K9！vTq2mZx", zhangSan, "PASSWORD_CHARS"},
		{"tab", "K9#v\tTq2!mZ", zhangSan, "PASSWORD_CHARS"},
		{"invalid UTF-8", "K9#vTq2!\xffZ", zhangSan, "PASSWORD_CHARS"},

		{"no special", "K9vTq2mZx", zhangSan, "PASSWORD_CLASSES"},
		{"no digit", "K#vTq!mZx", zhangSan, "PASSWORD_CLASSES"},
		{"no letter", "9#2!7#4&1", zhangSan, "PASSWORD_CLASSES"},
		{"digits only", "13579246", zhangSan, "PASSWORD_CLASSES"},

		{"P@ssw0rd", "P@ssw0rd", zhangSan, "PASSWORD_COMMON"},
		{"Aa123456!", "Aa123456!", zhangSan, "PASSWORD_COMMON"},
		{"password123!", "password123!", zhangSan, "PASSWORD_COMMON"},
		{"Passw0rd!", "Passw0rd!", zhangSan, "PASSWORD_COMMON"},
		{"Abc@123456", "Abc@123456", zhangSan, "PASSWORD_COMMON"},
		{"Admin@123", "Admin@123", zhangSan, "PASSWORD_COMMON"},
		{"Qwer1234!", "Qwer1234!", zhangSan, "PASSWORD_COMMON"},
		{"a123456.", "a123456.", zhangSan, "PASSWORD_COMMON"},
		{"Aa@123456", "Aa@123456", zhangSan, "PASSWORD_COMMON"},
		{"qwe123!@#", "qwe123!@#", zhangSan, "PASSWORD_COMMON"},
		{"1qaz@WSX", "1qaz@WSX", zhangSan, "PASSWORD_COMMON"},
		{"woaini1314 with a symbol", "Woaini1314!", zhangSan, "PASSWORD_COMMON"},
		{"listed word, digits, symbols", "Iloveyou2024!!", zhangSan, "PASSWORD_COMMON"},
		{"listed word, symbol, digits", "P@ssw0rd!2024", zhangSan, "PASSWORD_COMMON"},
		{"listed word inside", "xPassword1!", zhangSan, ""},
		// The review's examples: the province's name and a year, the
		// love words, leetspeak with digits.
		{"Hainan@2024", "Hainan@2024", zhangSan, "PASSWORD_COMMON"},
		{"Woaini@1314", "Woaini@1314", zhangSan, "PASSWORD_COMMON"},
		{"P@ssw0rd123", "P@ssw0rd123", zhangSan, "PASSWORD_COMMON"},
		{"Haikou#2025", "Haikou#2025", zhangSan, "PASSWORD_COMMON"},
		{"Zhengwu@123", "Zhengwu@123", zhangSan, "PASSWORD_COMMON"},
		{"Gov@2024!", "Gov@2024!", zhangSan, "PASSWORD_COMMON"},
		{"Qq@5201314", "Qq@5201314", zhangSan, "PASSWORD_COMMON"},
		{"1qaz@WSX#edc", "1qaz@WSX#edc", zhangSan, "PASSWORD_COMMON"},

		// 张三: zhangsan, the given name san, the initials zs.
		{"full pinyin", "Zhangsan@1990", zhangSan, "PASSWORD_NAME"},
		{"full pinyin inside", "8#ZhangSanX", zhangSan, "PASSWORD_NAME"},
		{"given name", "K9#San2!mZ", zhangSan, "PASSWORD_NAME"},
		{"initials and digits", "zs@888999", zhangSan, "PASSWORD_NAME"},
		{"initials after digits", "20240!ZS", zhangSan, "PASSWORD_NAME"},
		{"initials among letters", "zsK9#vTq2", zhangSan, ""},
		// A surname alone is shared by too many to guess this citizen.
		{"surname alone", "Zhang#2024x", zhangSan, ""},

		// 单雄信: 单 is dan in the dictionary but shan as a surname; both
		// are refused, since either may be how the citizen spells it.
		{"单 as a surname", "Shanxiongxin1!", PasswordFacts{Name: "单雄信"}, "PASSWORD_NAME"},
		{"单 read dan", "danxiongxin1!", PasswordFacts{Name: "单雄信"}, "PASSWORD_NAME"},
		{"单雄信 given name", "Xiongxin#77", PasswordFacts{Name: "单雄信"}, "PASSWORD_NAME"},
		{"单雄信 initials", "Sxx@2024", PasswordFacts{Name: "单雄信"}, "PASSWORD_NAME"},
		{"单雄信 good", "K9#vTq2!mZ", PasswordFacts{Name: "单雄信"}, ""},
		{"曾 zeng", "Zengguofan@1", PasswordFacts{Name: "曾国藩"}, "PASSWORD_NAME"},
		{"曾 ceng", "cengguofan@1", PasswordFacts{Name: "曾国藩"}, "PASSWORD_NAME"},
		{"曾国藩 given name", "Guofan#1811", PasswordFacts{Name: "曾国藩"}, "PASSWORD_NAME"},
		{"解 xie", "Xiejin@1369", PasswordFacts{Name: "解缙"}, "PASSWORD_NAME"},
		{"解 jie", "jiejin@1369", PasswordFacts{Name: "解缙"}, "PASSWORD_NAME"},
		{"解缙 given name", "K9#Jin2!mZ", PasswordFacts{Name: "解缙"}, "PASSWORD_NAME"},
		{"解缙 initials", "xj#1369x", PasswordFacts{Name: "解缙"}, ""},
		{"解缙 initials alone", "Xj#13690", PasswordFacts{Name: "解缙"}, "PASSWORD_NAME"},

		// 阿依古丽·买买提: each part, and the whole without the dot.
		{"first part", "Ayiguli@2024", PasswordFacts{Name: "阿依古丽·买买提"}, "PASSWORD_NAME"},
		{"second part", "maimaiti#99A", PasswordFacts{Name: "阿依古丽·买买提"}, "PASSWORD_NAME"},
		{"whole without the dot", "1#Ayigulimaimaiti", PasswordFacts{Name: "阿依古丽·买买提"}, "PASSWORD_NAME"},
		{"dotted name initials", "aygl mmt 1!", PasswordFacts{Name: "阿依古丽·买买提"}, "PASSWORD_NAME"},
		{"dot typed as katakana dot", "Ayiguli@2024", PasswordFacts{Name: "阿依古丽・买买提"}, "PASSWORD_NAME"},
		{"dotted name good", "K9#vTq2!mZ", PasswordFacts{Name: "阿依古丽·买买提"}, ""},

		// 欧阳娜娜: the given name is 娜娜, after the compound surname.
		{"compound surname whole", "Ouyangnana@1", PasswordFacts{Name: "欧阳娜娜"}, "PASSWORD_NAME"},
		{"after a compound surname", "Nana@2000x", PasswordFacts{Name: "欧阳娜娜"}, "PASSWORD_NAME"},
		{"compound surname initials", "oynn@2000", PasswordFacts{Name: "欧阳娜娜"}, "PASSWORD_NAME"},
		{"compound surname alone", "Ouyang@2000", PasswordFacts{Name: "欧阳娜娜"}, ""},
		{"万俟 moqi", "Moqixie@2024", PasswordFacts{Name: "万俟卨"}, "PASSWORD_NAME"},
		{"吕 as lv", "Lvbu@1234x", PasswordFacts{Name: "吕布"}, "PASSWORD_NAME"},
		{"吕 as lyu", "Lyubu@1234x", PasswordFacts{Name: "吕布"}, "PASSWORD_NAME"},

		// Any 6 consecutive characters of the ID: the review's Zx# and
		// the last six, the region, across the birth date.
		{"Zx# and the ID's last 6", "Zx#011234", zhangSan, "PASSWORD_ID"},
		{"the ID's last 6 first", "011234Zx#", zhangSan, "PASSWORD_ID"},
		{"the ID's first 6", "Zx#460102", zhangSan, "PASSWORD_ID"},
		{"6 across date and sequence", "Qv#101123", zhangSan, "PASSWORD_ID"},
		{"the ID's last 7", "Qv#1011234", zhangSan, "PASSWORD_ID"},
		{"5 of the ID's last", "Zx#11234q", zhangSan, ""},
		{"ID's last 6 with X", "Zx#01123X", PasswordFacts{IDNumber: "46010219850101123X"}, "PASSWORD_ID"},
		{"ID's last 6 with x", "Zx#01123x", PasswordFacts{IDNumber: "46010219850101123X"}, "PASSWORD_ID"},
		{"ID's last 5 digits without the X", "Zx#01123q", PasswordFacts{IDNumber: "46010219850101123X"}, ""},
		{"ID digits among symbols", "Ab!1990.01.01", zhangSan, "PASSWORD_ID"},
		{"ID digits among letters", "Zx#0a1b1c2d3e4", zhangSan, "PASSWORD_ID"},
		{"birth date YYYYMMDD", "Ab!19900101", zhangSan, "PASSWORD_ID"},
		{"birth date YYMMDD", "Ab!900101x", zhangSan, "PASSWORD_ID"},
		{"whole ID", "a!460102199001011234", zhangSan, "PASSWORD_ID"},
		{"whole ID ending in X, lower-case", "Q!46010219850101123x",
			PasswordFacts{IDNumber: "46010219850101123X"}, "PASSWORD_ID"},
		{"other date", "Ab!19910203", zhangSan, ""},
		{"not a resident ID", "Ab!900101x", PasswordFacts{IDNumber: "E12345678"}, ""},

		{"phone", "Tel#13912349071", zhangSan, "PASSWORD_PHONE"},
		{"phone kept with +86", "Tel#13912349071", PasswordFacts{Phone: "+86 139 1234 9071"}, "PASSWORD_PHONE"},
		{"Zx# and the phone's last 6", "Zx#349071", zhangSan, "PASSWORD_PHONE"},
		{"the phone's first 6", "Zx#139123", zhangSan, "PASSWORD_PHONE"},
		{"phone split by dashes", "Tel#139-1234-9071", zhangSan, "PASSWORD_PHONE"},
		{"the phone's last 6 split", "Zx#3490.71", zhangSan, "PASSWORD_PHONE"},
		{"the phone's last 5", "Zx#49071q", zhangSan, ""},
		{"5 digits of the phone", "Tel#13912x#y", zhangSan, ""},

		// The first broken rule wins, in the documented order.
		{"name and ID: name first", "zhangsan19900101!", zhangSan, "PASSWORD_NAME"},
		{"ID and phone: ID first", "x900101#13912349071", zhangSan, "PASSWORD_ID"},
		{"common and name: common first", "Zhang123456!", zhangSan, "PASSWORD_COMMON"},
		{"length before chars", "海南", zhangSan, "PASSWORD_LENGTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPassword(tt.password, tt.facts)
			got := ""
			if err != nil {
				var pe *PasswordError
				if !errors.As(err, &pe) {
					t.Fatalf("CheckPassword(%q) = %v (%T), want a *PasswordError", tt.password, err, err)
				}
				got = pe.Code
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckPassword(%q, %+v) code mismatch (-want +got):\n%s", tt.password, tt.facts, diff)
			}
		})
	}
}

func TestCheckPasswordMessages(t *testing.T) {
	t.Parallel()
	facts := PasswordFacts{Name: "张三", IDNumber: "460102199001011234", Phone: "13912349071"}
	tests := []struct {
		password string
		want     PasswordError
	}{
		{"short", PasswordError{"PASSWORD_LENGTH", "密码长度须为8至20位"}},
		{"海南Ab12!@cd", PasswordError{"PASSWORD_CHARS", "密码只能包含数字、字母和英文特殊字符"}},
		{"abcdefgh1", PasswordError{"PASSWORD_CLASSES", "密码须同时包含数字、字母和特殊字符"}},
		{"P@ssw0rd", PasswordError{"PASSWORD_COMMON", "密码过于常见，请换一个"}},
		{"Zhangsan@1990", PasswordError{"PASSWORD_NAME", "密码不能包含姓名拼音"}},
		{"Ab!19900101", PasswordError{"PASSWORD_ID", "密码不能包含证件号码中连续6位及以上的字符（如出生日期、末6位）"}},
		{"Tel#13912349071", PasswordError{"PASSWORD_PHONE", "密码不能包含手机号码中连续6位及以上的数字"}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Code, func(t *testing.T) {
			t.Parallel()
			err := CheckPassword(tt.password, facts)
			var pe *PasswordError
			if !errors.As(err, &pe) {
				t.Fatalf("CheckPassword(%q) = %v, want a *PasswordError", tt.password, err)
			}
			if diff := cmp.Diff(tt.want, *pe); diff != "" {
				t.Errorf("CheckPassword(%q) mismatch (-want +got):\n%s", tt.password, diff)
			}
			if diff := cmp.Diff(tt.want.Message, err.Error()); diff != "" {
				t.Errorf("Error() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestIsCommonPassword runs the embedded list: the review's examples and
// the common Chinese patterns, each entry group the generator writes, and
// their variants to meet the class rules.
func TestIsCommonPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lower string
		want  bool
	}{
		{"123456", true},
		{"p@ssw0rd", true},
		{"password123!", true},
		{"qwerty!!", true},
		{"qwerty123!!", true},
		{"password!123", true},
		{"woaini1314", true},
		// The review's examples, and the province's obvious patterns.
		{"hainan@2024", true},
		{"woaini@1314", true},
		{"p@ssw0rd123", true},
		{"haikou@2024", true},
		{"sanya#2025!", true},
		{"danzhou@123", true},
		{"qionghai2024!", true},
		{"zhengwu@2024", true},
		{"gov@2024!", true},
		{"hngov@123", true},
		{"admin@2024", true},
		{"adm1n@123", true},
		{"haiyiban#1", true},
		{"zimaogang@2025", true},
		// Pinyin love words and numbers, prefixes before digits.
		{"aini@1314520", true},
		{"baobei520!", true},
		{"laopo@5201314", true},
		{"qq@5201314", true},
		{"qq#123456789", true},
		{"abc@123456", true},
		{"abc12345678!", true},
		{"aa@112233", true},
		{"a#19900101", true},
		{"wang@123456", true},
		{"zhangwei@88", true},
		// Keyboard walks, and the words of every walk's kind.
		{"1qaz@wsx#edc", true},
		{"!qaz2wsx3edc", true},
		{"1q2w3e4r!", true},
		{"zaq1@wsx", true},
		{"asdfgh@2024", true},
		{"qwe@147258369", true},
		// Leaked passwords from the top of zxcvbn's list.
		{"dragon@2024", true},
		{"sunshine!1", true},
		{"m0nkey#99", true},
		{"1l0v3y0u!", true},

		{"k9#vtq2!mz", false},
		{"xpassword1!", false},
		{"abc@739184", false},
		{"myhainan@2024", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.lower, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, isCommonPassword(tt.lower)); diff != "" {
				t.Errorf("isCommonPassword(%q) mismatch (-want +got):\n%s", tt.lower, diff)
			}
		})
	}
}

// TestCommonPasswordList keeps the list what its matching assumes and
// what the generator writes: lower-case (passwords are looked up
// lower-cased), printable ASCII without spaces, at most maxPasswordLen
// long, no duplicates, several thousand entries, no entry another one
// covers (commonpw.List.Prune), and a header naming the sources and the
// licence.
func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	var bad, entries []string
	seen := make(map[string]bool)
	var header strings.Builder
	for line := range strings.Lines(commonPasswordList) {
		w := strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(w, "#") {
			if len(entries) > 0 {
				bad = append(bad, w) // a comment after the header
			}
			header.WriteString(w + "\n")
			continue
		}
		ok := w != "" && len(w) <= maxPasswordLen && w == strings.ToLower(w) && !seen[w]
		for _, r := range w {
			ok = ok && r > ' ' && r <= '~'
		}
		if !ok {
			bad = append(bad, w)
		}
		seen[w] = true
		entries = append(entries, w)
	}
	if diff := cmp.Diff([]string(nil), bad); diff != "" {
		t.Errorf("bad entries in common_passwords.txt (-want +got):\n%s", diff)
	}
	if len(entries) < 5000 {
		t.Errorf("common_passwords.txt has %d entries, want several thousand (at least 5000)", len(entries))
	}
	if diff := cmp.Diff(len(entries), commonPasswords().Len()); diff != "" {
		t.Errorf("list size mismatch (-want +got):\n%s", diff)
	}
	for _, want := range []string{"zxcvbn", "MIT", "Copyright (c) 2012-2013 Dropbox, Inc.", "gencommonpw"} {
		if !strings.Contains(header.String(), want) {
			t.Errorf("the header does not name %q:\n%s", want, header.String())
		}
	}
	if diff := cmp.Diff([]string(nil), commonpw.New(entries).Prune()); diff != "" {
		t.Errorf("entries covered by others, run gencommonpw again (-want +got):\n%s", diff)
	}
}

// TestCheckPasswordAcceptsStrong: the rules refuse no password that is
// strong, chosen by hand (random-looking, passphrases, a listed word
// inside letters, digits that are neither the ID's nor the phone's) or
// drawn at random, for a citizen whose ID and phone are known.
func TestCheckPasswordAcceptsStrong(t *testing.T) {
	t.Parallel()
	facts := PasswordFacts{Name: "张三", IDNumber: "46010219900101123X", Phone: "13912349071"}
	for _, password := range []string{
		"K9#vTq2!mZ", "t7$RmQ!x2v", "Gx8&wL3#pQz", "9f@Kd2!sLq", "Mv4^eR7*cN", "hT5%bW9@zJ",
		"Yq3)uN8(pX", "3Lq!zR8#vT", "Wq7#Lp2@Xr", "a!3#9$%^Bk", "Qq#7391vK!",
		"Mango#Tree42", "Blue-Kite-Rain7", "Coffee!Moon93", "Chuntian#Lvse7", "Yezi.Haifeng.8",
		"xPassword1!", "Hainanese#Tea7z", "MyHainan@2024x", "Zx#46010Q", "Zx#73958164",
		"Tel#13912x#y", "Sxq!20240315Kv",
	} {
		t.Run(password, func(t *testing.T) {
			t.Parallel()
			if err := CheckPassword(password, facts); err != nil {
				t.Errorf("CheckPassword(%q) = %v, want nil", password, err)
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		t.Parallel()
		// A fixed seed: the same passwords every run.
		rng := rand.New(rand.NewPCG(10, 5))
		const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		const digits = "0123456789"
		const specials = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
		all := letters + digits + specials
		for range 2000 {
			n := minPasswordLen + rng.IntN(5)
			b := []byte{letters[rng.IntN(len(letters))], digits[rng.IntN(len(digits))], specials[rng.IntN(len(specials))]}
			for len(b) < n {
				b = append(b, all[rng.IntN(len(all))])
			}
			rng.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
			if err := CheckPassword(string(b), facts); err != nil {
				t.Errorf("CheckPassword(%q) = %v, want nil", b, err)
			}
		}
	})
}
