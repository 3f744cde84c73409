package cleanse

import (
	"testing"

	"github.com/idfusion/idfusion/schemas"
)

var sinkB bool
var sinkS string
var sinkC byte

func BenchmarkZNorm(b *testing.B) {
	for b.Loop() {
		sinkS = NormalizeID(stdExample)
	}
}
func BenchmarkZClassify(b *testing.B) {
	for b.Loop() {
		_, c := classifyID(stdExample)
		sinkS = string(c)
	}
}
func BenchmarkZBirth(b *testing.B) {
	for b.Loop() {
		_, sinkB = birthDate(digits(stdExample[6:10]), digits(stdExample[10:12]), digits(stdExample[12:14]))
	}
}
func BenchmarkZCheck(b *testing.B) {
	for b.Loop() {
		sinkC = IDCheckChar(stdExample[:17])
	}
}
func BenchmarkZCounty(b *testing.B) {
	for b.Loop() {
		sinkB = schemas.CountyKnown(stdExample[:6])
	}
}
func BenchmarkZParse(b *testing.B) {
	for b.Loop() {
		i, _ := ParseID(stdExample, "", false)
		sinkC = i.Gender
	}
}
