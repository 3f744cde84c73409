package commonpw

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testList is a small list with entries of each kind: long stems, short
// ones, a listed number, a keyboard walk with digits.
var testList = New([]string{"password", "hainan", "woaini", "admin", "qq", "q", "abc", "Sanya", "5201314", "1314", "1qaz2wsx", "abc123"})

func TestIsCommon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lower string
		want  bool
	}{
		// Listed as is.
		{"password", true},
		{"1qaz2wsx", true},
		{"sanya", true}, // lower-cased when made

		// A long stem with any digits and symbols around it.
		{"hainan@2024", true},
		{"hainan2024!", true},
		{"2024@hainan", true},
		{"!hainan!", true},
		{"hainan@7391846250", true},
		{"woaini@1314", true},
		{"1qaz2wsx!!", true},
		{"abc123!@#", true}, // abc123 is six long: a stem of its own

		// Leetspeak inside the stem and at its ends.
		{"p@ssw0rd123", true},
		{"p@$$w0rd!", true},
		{"pa55word#1", true},
		{"h@1n@n#2024", true},
		{"w0a1n1@520", true},
		{"$anya#2024", true},
		{"@dmin#2024", true},
		{"adm1n@123", true},
		{"p4ssw0rd", true},

		// A short stem with guessable numbers around it: four digits at
		// most, or runs of common numbers.
		{"admin@2024", true},
		{"admin#7391", true},
		{"12#admin#34", true},
		{"qq@5201314", true},
		{"qq@123456!", true},
		{"qq#2024#1314", true},
		{"abc@19900101", true},
		{"abc@888888", true},
		{"abc@121212", true},
		{"sanya@2024", true},
		{"qq#2024", true},
		{"qq@123!", true},

		// A short stem with numbers that must be guessed.
		{"admin@739184", false},
		{"qq#2024#73918", false},
		{"abc73918462!", false},
		{"abc1!2!3!4!5", false}, // five runs of one digit: none common
		// A letter or two with a few random digits is random-looking.
		{"qq#7391", false},
		{"q!3#9$%^", false},
		// A stem inside letters is not refused.
		{"xpassword1!", false},
		{"hainanx@2024", false},
		{"myhainan@2024", false},
		{"passwordpassword1!", false},
		// Random-looking passwords.
		{"k9#vtq2!mz", false},
		{"t7$rmq!x2v", false},
		// No letter: the numbers alone decide.
		{"5201314!", true},
		{"123456", true},
		{"!@#$", true},
		{"739184!#", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.lower, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, testList.IsCommon(tt.lower)); diff != "" {
				t.Errorf("IsCommon(%q) mismatch (-want +got):\n%s", tt.lower, diff)
			}
		})
	}
}

func TestIsCommonNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    string
		want bool
	}{
		{"5201314", true}, // listed
		{"1314", true},    // listed
		{"888", true},
		{"666666", true},
		{"121212", true},
		{"520520", true},
		{"123456", true},
		{"987654", true},
		{"567890", true},
		{"8901234", true},
		{"112233", true},
		{"998877", true},
		{"123321", true},
		{"1234321", true},
		{"1990", true},
		{"2024", true},
		{"19900101", true},
		{"20240229", true},
		{"900101", true},
		{"0520", true},

		{"12", false}, // too short to judge
		{"739184", false},
		{"135792", false},
		{"1899", false},
		{"2100", false},
		{"19901301", false},
		{"19900230", false},
		{"901301", false},
		{"1232", false},
		{"124421", false},
		{"113322", false},
	}
	for _, tt := range tests {
		t.Run(tt.d, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, testList.IsCommonNumber(tt.d)); diff != "" {
				t.Errorf("IsCommonNumber(%q) mismatch (-want +got):\n%s", tt.d, diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	l := Parse("# header, skipped\n#password\n\nHainan\n  qq \n5201314\n")
	for _, w := range []string{"hainan", "qq", "5201314"} {
		if !l.Has(w) {
			t.Errorf("Parse misses %q", w)
		}
	}
	if diff := cmp.Diff(3, l.Len()); diff != "" {
		t.Errorf("Len mismatch (-want +got):\n%s", diff)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	l := New([]string{
		"password", "password1", "p@ssw0rd", "!password!", "qwerty", "qwerty123",
		"admin", "@dmin", "admin!", "admin123", "qq", "qq5201314",
		"5201314", "123456", "19900101", "12", "!@#$%^", "1qaz2wsx", "q!", "q!!",
	})
	removed := l.Prune()
	want := []string{"!@#$%^", "!password!", "12", "123456", "19900101", "@dmin", "admin!", "p@ssw0rd", "password1", "qwerty123"}
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("Prune removed (-want +got):\n%s", diff)
	}
	// What is kept answers as the whole list did.
	for _, p := range []string{"p@ssw0rd1", "@dmin#2024", "admin123#739184", "qq5201314#739184", "qwerty123!", "q!!#7391"} {
		if !l.IsCommon(p) {
			t.Errorf("after Prune, IsCommon(%q) = false", p)
		}
	}
	if diff := cmp.Diff([]string(nil), l.Prune()); diff != "" {
		t.Errorf("a second Prune removed (-want +got):\n%s", diff)
	}
}
