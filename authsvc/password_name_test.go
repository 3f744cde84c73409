package authsvc

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
