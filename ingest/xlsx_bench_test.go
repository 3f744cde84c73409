package ingest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/idfusion/idfusion/schemas"
)

const benchXLSXRows = 200_000

// benchXLSX is an 8-column export of benchXLSXRows rows written once per
// process with excelize's StreamWriter (inline strings, as large exports
// are written) and kept in memory; each benchmark writes it to its own
// temporary directory.
var benchXLSX = sync.OnceValues(func() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return nil, err
	}
	timeStyle, err := f.NewStyle(&excelize.Style{NumFmt: 22})
	if err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, err
	}
	if err := sw.SetRow("A1", []any{"姓名", "证件类型", "身份证号", "性别", "出生日期", "手机", "地址", "更新时间"}); err != nil {
		return nil, err
	}
	names := []string{"张三", "李四", "王五", "欧阳娜娜", "买买提·艾力"}
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	updated := time.Date(2023, 1, 1, 8, 30, 0, 0, time.UTC)
	row := make([]any, 8)
	for i := range benchXLSXRows {
		row[0] = names[i%len(names)]
		row[1] = "居民身份证"
		row[2] = fmt.Sprintf("46010219%08d%02d", 90000000+i, i%100)
		row[3] = []string{"男", "女"}[i%2]
		row[4] = excelize.Cell{StyleID: dateStyle, Value: birth.AddDate(0, 0, i%20000)}
		row[5] = int64(13900000000 + i)
		row[6] = fmt.Sprintf("海南省海口市龙华区滨海大道%d号", i%500)
		row[7] = excelize.Cell{StyleID: timeStyle, Value: updated.Add(time.Duration(i) * time.Minute)}
		if err := sw.SetRow(fmt.Sprintf("A%d", i+2), row); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
})

func benchXLSXFile(b *testing.B) string {
	b.Helper()
	data, err := benchXLSX()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.xlsx")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkXLSXSource reads the whole sheet through xlsxSource, opening
// included.
func BenchmarkXLSXSource(b *testing.B) {
	path := benchXLSXFile(b)
	m := &schemas.Mapping{HeaderRow: 1}
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		src, err := newXLSXSource(path, m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := src.header(); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := src.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		src.close()
		if n != benchXLSXRows {
			b.Fatalf("read %d rows, want %d", n, benchXLSXRows)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkXLSXExcelizeRaw is the baseline: excelize's streaming Rows
// iterator with raw (unformatted) cell values, opening included.
func BenchmarkXLSXExcelizeRaw(b *testing.B) {
	path := benchXLSXFile(b)
	rows := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		f, err := excelize.OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		it, err := f.Rows("Sheet1")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			if _, err := it.Columns(excelize.Options{RawCellValue: true}); err != nil {
				b.Fatal(err)
			}
			n++
		}
		it.Close()
		f.Close()
		if n != benchXLSXRows+1 {
			b.Fatalf("read %d rows, want %d", n, benchXLSXRows+1)
		}
		rows += n - 1
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkXLSXInflate is the ceiling: inflating the sheet part alone.
func BenchmarkXLSXInflate(b *testing.B) {
	path := benchXLSXFile(b)
	b.ResetTimer()
	for b.Loop() {
		zr, err := zip.OpenReader(path)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range zr.File {
			if f.Name != "xl/worksheets/sheet1.xml" {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				b.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n)
		}
		zr.Close()
	}
	b.ReportMetric(float64(benchXLSXRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkXLSXSheetScanner measures the scanner alone, on the sheet XML
// inflated beforehand.
func BenchmarkXLSXSheetScanner(b *testing.B) {
	path := benchXLSXFile(b)
	zr, err := zip.OpenReader(path)
	if err != nil {
		b.Fatal(err)
	}
	var sheet []byte
	for _, f := range zr.File {
		if f.Name == "xl/worksheets/sheet1.xml" {
			rc, err := f.Open()
			if err != nil {
				b.Fatal(err)
			}
			if sheet, err = io.ReadAll(rc); err != nil {
				b.Fatal(err)
			}
		}
	}
	zr.Close()
	dates := make([]bool, 8)
	for i := range dates {
		dates[i] = true // every styled cell of the benchmark sheet is a date
	}
	b.SetBytes(int64(len(sheet)))
	b.ReportAllocs()
	b.ResetTimer()
	var cells []string
	var numeric []bool
	rows := 0
	for b.Loop() {
		sc := newSheetScanner(bytes.NewReader(sheet), xlsxWindow, nil, dates, false)
		for {
			_, err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			cells = sc.appendRow(cells[:0], &numeric, 8)
			rows++
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
