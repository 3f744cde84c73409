package commonpw

import "time"

// minCommonNumber is the shortest run of digits IsCommonNumber judges:
// shorter runs are only guessable as part of maxGuessDigits.
const minCommonNumber = 3

// IsCommonNumber reports whether d, a run of digits, is a number people
// put in passwords: an entry of the list (5201314, 1314520, 147258369)
// or one following a rule (see isPatternNumber).
func (l *List) IsCommonNumber(d string) bool {
	if len(d) < minCommonNumber {
		return false
	}
	return l.Has(d) || isPatternNumber(d)
}

// isPatternNumber reports whether d, of at least minCommonNumber digits,
// follows one of the rules that make numbers easy to remember: a unit
// repeated (888888, 121212, 520520), a run up or down the digits
// (123456, 987654, 567890), a run doubled or mirrored (112233, 123321), a
// year from 1900 to 2099, or a date (20240101, 900101, 0520).
func isPatternNumber(d string) bool {
	return isRepeat(d) || isRun(d) || isDoubledRun(d) || isMirroredRun(d) || isYear(d) || isDate(d)
}

// isRepeat reports whether d is one shorter unit said at least twice.
func isRepeat(d string) bool {
	for unit := 1; unit <= len(d)/2; unit++ {
		if len(d)%unit != 0 {
			continue
		}
		ok := true
		for i := unit; i < len(d) && ok; i++ {
			ok = d[i] == d[i-unit]
		}
		if ok {
			return true
		}
	}
	return false
}

// isRun reports whether each digit of d is one more than the one before
// it, or each one less, 9 and 0 following each other (7890, 3210987).
func isRun(d string) bool {
	if len(d) < 2 {
		return false
	}
	step := (int(d[1]) - int(d[0]) + 10) % 10
	if step != 1 && step != 9 {
		return false
	}
	for i := 2; i < len(d); i++ {
		if (int(d[i])-int(d[i-1])+10)%10 != step {
			return false
		}
	}
	return true
}

// isDoubledRun reports whether d is a run with each digit said twice
// (112233, 998877).
func isDoubledRun(d string) bool {
	if len(d) < 4 || len(d)%2 != 0 {
		return false
	}
	half := make([]byte, 0, len(d)/2)
	for i := 0; i < len(d); i += 2 {
		if d[i] != d[i+1] {
			return false
		}
		half = append(half, d[i])
	}
	return isRun(string(half))
}

// isMirroredRun reports whether d is a run followed by itself backwards
// (123321, 1234321, 987789).
func isMirroredRun(d string) bool {
	if len(d) < 5 {
		return false
	}
	for i := range len(d) / 2 {
		if d[i] != d[len(d)-1-i] {
			return false
		}
	}
	return isRun(d[:(len(d)+1)/2])
}

// isYear reports whether d is a year from 1900 to 2099.
func isYear(d string) bool {
	return len(d) == 4 && (d[:2] == "19" || d[:2] == "20")
}

// isDate reports whether d is a date as people write it in digits:
// YYYYMMDD with a year from 1900 to 2099, YYMMDD or MMDD.
func isDate(d string) bool {
	switch len(d) {
	case 8:
		return isYear(d[:4]) && isMonthDay(d[4:])
	case 6:
		return isMonthDay(d[2:])
	case 4:
		return isMonthDay(d)
	}
	return false
}

// isMonthDay reports whether d, four digits, is a month and a day of it,
// 29 February included.
func isMonthDay(d string) bool {
	m := int(d[0]-'0')*10 + int(d[1]-'0')
	day := int(d[2]-'0')*10 + int(d[3]-'0')
	if m < 1 || m > 12 || day < 1 {
		return false
	}
	// A leap year, so that 0229 is a date.
	return day <= time.Date(2024, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
