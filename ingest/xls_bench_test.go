package ingest

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
	"testing"
)

// benchXLSRows is a BIFF8 sheet's most rows, less the header.
const benchXLSRows = 65_535

// benchXLSStream is a workbook stream of benchXLSRows rows of 8 cells as
// Excel writes them: shared strings for text (a unique one per ID number,
// as exports of IDs as text have), RK for dates, NUMBER for phone numbers
// and times; made once per process.
var benchXLSStream = sync.OnceValue(func() []byte {
	var strs [][]byte
	index := map[string]int{}
	sst := func(s string) []byte {
		i, ok := index[s]
		if !ok {
			i = len(strs)
			index[s] = i
			strs = append(strs, xlString(s))
		}
		return le32(i)
	}
	num := func(f float64) []byte { return binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)) }
	var sheet [][]byte
	for c, h := range []string{"姓名", "证件类型", "身份证号", "性别", "出生日期", "手机", "地址", "更新时间"} {
		sheet = append(sheet, cellRec(biffLabelSST, 0, c, 0, sst(h)))
	}
	names := []string{"张三", "李四", "王五", "欧阳娜娜", "买买提·艾力"}
	for i := range benchXLSRows {
		r := i + 1
		sheet = append(sheet,
			cellRec(biffLabelSST, r, 0, 0, sst(names[i%len(names)])),
			cellRec(biffLabelSST, r, 1, 0, sst("居民身份证")),
			cellRec(biffLabelSST, r, 2, 0, sst(fmt.Sprintf("46010219%08d%02d", 90000000+i, i%100))),
			cellRec(biffLabelSST, r, 3, 0, sst([]string{"男", "女"}[i%2])),
			cellRec(biffRK, r, 4, 1, le32((21916+i%20000)<<2|2)),
			cellRec(biffNumber, r, 5, 0, num(float64(13900000000+i))),
			cellRec(biffLabelSST, r, 6, 0, sst(fmt.Sprintf("海南省海口市龙华区滨海大道%d号", i%500))),
			cellRec(biffNumber, r, 7, 2, num(44927.354166666664+float64(i)/1440)),
		)
	}
	sheet = append(sheet, biffRec(biffEOF))
	// The table: an SST record and CONTINUEs of at most 8224 bytes, each
	// split between strings.
	var globals [][]byte
	rec, typ := append(le32(len(strs)), le32(len(strs))...), uint16(biffSST)
	for _, s := range strs {
		if len(rec)+len(s) > 8224 {
			globals = append(globals, biffRec(typ, rec))
			rec, typ = nil, biffContinue
		}
		rec = append(rec, s...)
	}
	globals = append(globals, biffRec(typ, rec))
	xf := func(ifmt int) []byte { return biffRec(biffXF, le16(0), le16(ifmt), make([]byte, 16)) }
	globals = append([][]byte{xf(0), xf(14), xf(22)}, globals...)
	return biffStream(globals, sheet)
})

// BenchmarkXLSSource reads the sheet of benchXLSStream: rows/s and the
// allocations a row costs (one, its text, when it has any outside the
// shared strings).
func BenchmarkXLSSource(b *testing.B) {
	stream := benchXLSStream()
	m := mustMapping(b, testMapping)
	b.SetBytes(int64(len(stream)))
	b.ResetTimer()
	for range b.N {
		src, err := openStream(stream, m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.header(); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			if _, err := src.next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != benchXLSRows {
			b.Fatalf("%d rows, want %d", n, benchXLSRows)
		}
	}
	b.ReportMetric(float64(b.N*benchXLSRows)/b.Elapsed().Seconds(), "rows/s")
}

// TestXLSAllocsPerRow: reading a row allocates its text once, nothing
// more.
func TestXLSAllocsPerRow(t *testing.T) {
	src, err := openStream(benchXLSStream(), mustMapping(t, testMapping))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.header(); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(10_000, func() {
		if _, err := src.next(); err != nil {
			t.Fatal(err)
		}
	}); allocs > 1 {
		t.Errorf("%.2f allocations a row, want at most 1", allocs)
	}
}
