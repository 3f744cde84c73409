package authsvc

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
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

		{"birth date YYYYMMDD", "Ab!19900101", zhangSan, "PASSWORD_ID"},
		{"birth date YYMMDD", "Ab!900101x", zhangSan, "PASSWORD_ID"},
		{"whole ID", "a!460102199001011234", zhangSan, "PASSWORD_ID"},
		{"whole ID ending in X, lower-case", "Q!46010219850101123x",
			PasswordFacts{IDNumber: "46010219850101123X"}, "PASSWORD_ID"},
		{"other date", "Ab!19900102", zhangSan, ""},
		{"not a resident ID", "Ab!900101x", PasswordFacts{IDNumber: "E12345678"}, ""},

		{"phone", "Tel#13912349071", zhangSan, "PASSWORD_PHONE"},
		{"phone kept with +86", "Tel#13912349071", PasswordFacts{Phone: "+86 139 1234 9071"}, "PASSWORD_PHONE"},
		{"part of the phone", "Tel#1391234x", zhangSan, ""},

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
		{"Ab!19900101", PasswordError{"PASSWORD_ID", "密码不能包含证件号码或出生日期"}},
		{"Tel#13912349071", PasswordError{"PASSWORD_PHONE", "密码不能包含手机号码"}},
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
		{"5201314!", true},
		{"woaini1314", true},
		// Stems shorter than minCommonStem are not refused with a suffix.
		{"abc12345678!", false},
		{"k9#vtq2!mz", false},
		{"xpassword1!", false},
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

// TestCommonPasswordList keeps the list what isCommonPassword assumes:
// lower-case (it looks up lower-cased passwords), printable ASCII, no
// entry shorter than minCommonStem (which could never match), no
// duplicates.
func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	var bad []string
	seen := make(map[string]bool)
	n := 0
	for line := range strings.Lines(commonPasswordList) {
		w := strings.TrimSuffix(line, "\n")
		n++
		ok := len(w) >= minCommonStem && w == strings.ToLower(w) && !seen[w]
		for _, r := range w {
			ok = ok && r > ' ' && r <= '~'
		}
		if !ok {
			bad = append(bad, w)
		}
		seen[w] = true
	}
	if diff := cmp.Diff([]string(nil), bad); diff != "" {
		t.Errorf("bad entries in common_passwords.txt (-want +got):\n%s", diff)
	}
	if n < 400 {
		t.Errorf("common_passwords.txt has %d entries, want at least 400", n)
	}
	if diff := cmp.Diff(n, len(commonPasswords())); diff != "" {
		t.Errorf("set size mismatch (-want +got):\n%s", diff)
	}
}

func TestNamePinyin(t *testing.T) {
	t.Parallel()
	type result struct {
		Words    []string
		Initials []string
	}
	tests := []struct {
		name string
		want result
	}{
		{"张三", result{[]string{"san", "zhangsan"}, []string{"zs"}}},
		{"单雄信", result{
			[]string{"xiongxin", "xiongshen", "shanxiongxin", "shanxiongshen", "danxiongxin", "danxiongshen", "chanxiongxin", "chanxiongshen"},
			[]string{"sxx", "sxs", "dxx", "dxs", "cxx", "cxs"},
		}},
		{"曾国藩", result{[]string{"guofan", "zengguofan", "cengguofan"}, []string{"zgf", "cgf"}}},
		{"乐嘉", result{[]string{"jia", "yuejia", "lejia"}, []string{"yj", "lj"}}},
		{"长孙无忌", result{
			// 长孙 is zhangsun first; its given name wuji follows it, and
			// sunwuji (孙 read as a given name) is refused too.
			[]string{"sunwuji", "sunmoji", "wuji", "moji", "zhangsunwuji", "zhangsunmoji", "changsunwuji", "changsunmoji"},
			[]string{"zswj", "zsmj", "cswj", "csmj"},
		}},
		{"阿依古丽·买买提", result{
			[]string{"ayiguli", "ayikuli", "eyiguli", "eyikuli", "maimaiti", "maimaidi", "maimaichi", "maimaishi"},
			nil,
		}},
		{"", result{}},
		{"·", result{}},
		{"JOHN", result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			words, initials := namePinyin(tt.name)
			got := result{words, initials}
			if tt.name == "阿依古丽·买买提" {
				// Only the parts are checked here; the whole is long.
				got.Words = slices.DeleteFunc(slices.Clone(words), func(w string) bool { return len(w) > 9 })
				got.Initials = nil
				if !slices.Contains(words, "ayigulimaimaiti") || !slices.Contains(initials, "ayglmmt") {
					t.Errorf("namePinyin(%q) misses the whole: %q, %q", tt.name, words, initials)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("namePinyin(%q) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestPinyinCombos(t *testing.T) {
	t.Parallel()
	two := []string{"a", "b"}
	tests := []struct {
		name  string
		slots [][]string
		limit int
		want  []string
	}{
		{"none", nil, 64, nil},
		{"one slot", [][]string{{"x", "y", "z"}}, 64, []string{"x", "y", "z"}},
		{"by rank sum", [][]string{{"a", "b"}, {"c", "d"}}, 64, []string{"ac", "ad", "bc", "bd"}},
		{"capped", [][]string{{"a", "b", "c"}, {"d", "e"}}, 3, []string{"ad", "ae", "bd"}},
		// 7 slots of 2 readings make 128 spellings: the 64 kept are
		// those with the fewest second readings (1 + 7 + 21 + 35).
		{"many", [][]string{two, two, two, two, two, two, two}, 64, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, c := range pinyinCombos(tt.slots, tt.limit) {
				got = append(got, strings.Join(c, ""))
			}
			if tt.name == "many" {
				if len(got) != 64 || got[0] != "aaaaaaa" {
					t.Fatalf("got %d spellings starting %q, want 64 starting aaaaaaa", len(got), got[0])
				}
				for _, s := range got {
					if strings.Count(s, "b") > 3 {
						t.Errorf("kept %q, with more second readings than dropped ones", s)
					}
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pinyinCombos mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// cheapArgon2 keeps the hasher tests fast; the format test uses the
// defaults.
var cheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHasherFormat(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(DefaultArgon2, 1)
	phc, err := h.Hash(t.Context(), "K9#vTq2!mZ")
	if err != nil {
		t.Fatal(err)
	}
	// 16 bytes of salt are 22 base64 characters, 32 of hash 43.
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(phc) {
		t.Errorf("Hash = %q, want to match %s", phc, re)
	}
	ok, err := h.Verify(t.Context(), "K9#vTq2!mZ", phc)
	if err != nil || !ok {
		t.Errorf("Verify of the default hash = %v, %v; want true, nil", ok, err)
	}
}

func TestPasswordHasherVerify(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	stored := func(h *PasswordHasher, password string) string {
		t.Helper()
		phc, err := h.Hash(t.Context(), password)
		if err != nil {
			t.Fatal(err)
		}
		return phc
	}
	other := NewPasswordHasher(Argon2Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 16}, 1)
	tests := []struct {
		name     string
		password string
		phc      string
		want     bool
	}{
		{"right", "K9#vTq2!mZ", stored(h, "K9#vTq2!mZ"), true},
		{"wrong", "K9#vTq2!mz", stored(h, "K9#vTq2!mZ"), false},
		{"empty", "", stored(h, "K9#vTq2!mZ"), false},
		{"empty stored", "", stored(h, ""), true},
		{"non-ASCII", "海南省", stored(h, "海南省"), true},
		// A hash keeps verifying after the parameters change.
		{"other parameters", "K9#vTq2!mZ", stored(other, "K9#vTq2!mZ"), true},
		{"other parameters, wrong", "K9#vTq2!mZ!", stored(other, "K9#vTq2!mZ"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := h.Verify(t.Context(), tt.password, tt.phc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Verify mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPasswordHasherVerifyMalformed(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	const salt = "c29tZXNhbHRzb21lc2FsdA" // 16 bytes
	const hash = "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	good := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + hash
	if _, err := h.Verify(t.Context(), "x", good); err != nil {
		t.Fatalf("the well-formed base case fails: %v", err)
	}
	tests := []struct {
		name string
		phc  string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"plain text", "K9#vTq2!mZ"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + hash},
		{"version 16", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + hash},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + hash},
		{"parameters out of order", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + hash},
		{"missing p", "$argon2id$v=19$m=64,t=1$" + salt + "$" + hash},
		{"extra parameter", "$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + hash},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + hash},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + hash},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + hash},
		{"not a number", "$argon2id$v=19$m=sixty,t=1,p=1$" + salt + "$" + hash},
		{"t=0", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + hash},
		{"p=0", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + hash},
		{"p=256", "$argon2id$v=19$m=4096,t=1,p=256$" + salt + "$" + hash},
		{"memory below 8 per lane", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + hash},
		{"memory of 4 GiB", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + hash},
		{"a million passes", "$argon2id$v=19$m=64,t=1000000,p=1$" + salt + "$" + hash},
		{"padded salt", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + hash},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + hash},
		{"salt of 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$" + hash},
		{"hash of 4 bytes", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$aGFzaA"},
		{"no hash", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"trailing field", good + "$x"},
		{"no leading $", good[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := h.Verify(t.Context(), "K9#vTq2!mZ", tt.phc)
			if !errors.Is(err, ErrMalformedPasswordHash) {
				t.Errorf("Verify error = %v, want ErrMalformedPasswordHash", err)
			}
			if ok {
				t.Error("Verify = true for a malformed hash")
			}
			if tt.phc != "" && err != nil && strings.Contains(err.Error(), tt.phc) {
				t.Errorf("the error %q quotes the stored hash", err)
			}
		})
	}
}

func TestPasswordHasherSaltDiffers(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	a, err := h.Hash(t.Context(), "K9#vTq2!mZ")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(t.Context(), "K9#vTq2!mZ")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are both %q", a)
	}
	if strings.Split(a, "$")[4] == strings.Split(b, "$")[4] {
		t.Errorf("two hashes share their salt: %q, %q", a, b)
	}
}

func TestPasswordHasherNeedsRehash(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 0)
	hashWith := func(p Argon2Params) string {
		t.Helper()
		phc, err := NewPasswordHasher(p, 1).Hash(t.Context(), "K9#vTq2!mZ")
		if err != nil {
			t.Fatal(err)
		}
		return phc
	}
	with := func(edit func(*Argon2Params)) Argon2Params {
		p := cheapArgon2
		edit(&p)
		return p
	}
	tests := []struct {
		name string
		phc  string
		want bool
	}{
		{"same parameters", hashWith(cheapArgon2), false},
		{"more memory", hashWith(with(func(p *Argon2Params) { p.Memory = 128 })), true},
		{"less time", hashWith(with(func(p *Argon2Params) { p.Time = 2 })), true},
		{"more threads", hashWith(with(func(p *Argon2Params) { p.Threads = 2 })), true},
		{"shorter salt", hashWith(with(func(p *Argon2Params) { p.SaltLen = 8 })), true},
		{"longer key", hashWith(with(func(p *Argon2Params) { p.KeyLen = 64 })), true},
		{"malformed", "$argon2id$v=19$m=64", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, h.NeedsRehash(tt.phc)); diff != "" {
				t.Errorf("NeedsRehash mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewPasswordHasher(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(Argon2Params{}, 0)
	if diff := cmp.Diff(DefaultArgon2, h.params); diff != "" {
		t.Errorf("zero params mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(runtime.GOMAXPROCS(0), cap(h.sem)); diff != "" {
		t.Errorf("default concurrency mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(3, cap(NewPasswordHasher(cheapArgon2, 3).sem)); diff != "" {
		t.Errorf("concurrency mismatch (-want +got):\n%s", diff)
	}
	if h.NeedsRehash(h.dummy) {
		t.Errorf("the dummy hash %q does not have the hasher's parameters", h.dummy)
	}
}

func TestNewPasswordHasherPanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Argon2Params
	}{
		{"memory below 8 per lane", Argon2Params{Memory: 8, Threads: 2}},
		{"memory of 4 GiB", Argon2Params{Memory: 4 << 20}},
		{"a million passes", Argon2Params{Time: 1_000_000}},
		{"salt of 4 bytes", Argon2Params{SaltLen: 4}},
		{"key of 8 bytes", Argon2Params{KeyLen: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("NewPasswordHasher(%+v) did not panic", tt.p)
				}
			}()
			NewPasswordHasher(tt.p, 1)
		})
	}
}

// blockingIDKey replaces a hasher's argon2 with one that counts the hashes
// in flight and holds each until release is closed.
type blockingIDKey struct {
	release  chan struct{}
	inFlight atomic.Int32
	max      atomic.Int32
	calls    atomic.Int32
	mu       sync.Mutex
	params   []Argon2Params // what each call was asked for
}

func newBlockingIDKey(h *PasswordHasher) *blockingIDKey {
	b := &blockingIDKey{release: make(chan struct{})}
	h.idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		b.calls.Add(1)
		b.mu.Lock()
		b.params = append(b.params, Argon2Params{Memory: memory, Time: time, Threads: threads, SaltLen: uint32(len(salt)), KeyLen: keyLen})
		b.mu.Unlock()
		n := b.inFlight.Add(1)
		for {
			m := b.max.Load()
			if n <= m || b.max.CompareAndSwap(m, n) {
				break
			}
		}
		<-b.release
		b.inFlight.Add(-1)
		return make([]byte, keyLen)
	}
	return b
}

// TestPasswordHasherBoundsConcurrency runs in a synctest bubble, where
// synctest.Wait returns once every goroutine is blocked: then the hashes
// that got a slot sit in idKey and the rest wait for one, with no timing
// involved.
func TestPasswordHasherBoundsConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := NewPasswordHasher(cheapArgon2, 2)
		b := newBlockingIDKey(h)
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for range 5 {
			wg.Go(func() {
				_, err := h.Hash(t.Context(), "K9#vTq2!mZ")
				errs <- err
			})
		}
		synctest.Wait()
		if diff := cmp.Diff(int32(2), b.inFlight.Load()); diff != "" {
			t.Errorf("hashes in flight mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(0, len(errs)); diff != "" {
			t.Errorf("hashes finished while all were held (-want +got):\n%s", diff)
		}
		close(b.release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if diff := cmp.Diff(int32(2), b.max.Load()); diff != "" {
			t.Errorf("most hashes in flight mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(int32(5), b.calls.Load()); diff != "" {
			t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestPasswordHasherContextWhileWaiting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, h *PasswordHasher) error
	}{
		{"Hash", func(ctx context.Context, h *PasswordHasher) error {
			_, err := h.Hash(ctx, "K9#vTq2!mZ")
			return err
		}},
		{"Verify", func(ctx context.Context, h *PasswordHasher) error {
			_, err := h.Verify(ctx, "K9#vTq2!mZ", h.dummy)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				h := NewPasswordHasher(cheapArgon2, 1)
				b := newBlockingIDKey(h)
				// The only slot is taken.
				var wg sync.WaitGroup
				wg.Go(func() {
					if _, err := h.Hash(t.Context(), "first"); err != nil {
						t.Error(err)
					}
				})
				synctest.Wait()

				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- tt.call(ctx, h) }()
				synctest.Wait()
				if diff := cmp.Diff(0, len(done)); diff != "" {
					t.Fatalf("returned while waiting for the slot (-want +got):\n%s", diff)
				}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("error = %v, want context.Canceled", err)
				}
				close(b.release)
				wg.Wait()
				if diff := cmp.Diff(int32(1), b.calls.Load()); diff != "" {
					t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestPasswordHasherContextAlreadyDone(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 1)
	b := newBlockingIDKey(h)
	close(b.release)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A slot is free, but a request already given up spends no hash.
	if _, err := h.Hash(ctx, "K9#vTq2!mZ"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash error = %v, want context.Canceled", err)
	}
	if _, err := h.Verify(ctx, "K9#vTq2!mZ", h.dummy); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify error = %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(int32(0), b.calls.Load()); diff != "" {
		t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
	}
}

// TestPasswordHasherVerifyDummy checks that VerifyDummy runs one hash with
// the hasher's own parameters, the cost of verifying a fresh hash.
func TestPasswordHasherVerifyDummy(t *testing.T) {
	t.Parallel()
	h := NewPasswordHasher(cheapArgon2, 1)
	b := newBlockingIDKey(h)
	close(b.release)
	h.VerifyDummy(t.Context(), "K9#vTq2!mZ")
	if diff := cmp.Diff([]Argon2Params{cheapArgon2}, b.params); diff != "" {
		t.Errorf("hashes run mismatch (-want +got):\n%s", diff)
	}
}
