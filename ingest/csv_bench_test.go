package ingest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/idfusion/idfusion/schemas"
)

const benchCSVRows = 200_000

// benchCSV is an 8-column export of benchCSVRows rows the way Excel saves
// CSV (CRLF, quotes only where a field needs them: every 50th address holds
// an Alt+Enter line break, every 10th name a comma), built once per process.
var benchCSV = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	b.WriteString("姓名,证件类型,身份证号,性别,出生日期,手机,地址,更新时间\r\n")
	names := []string{"张三", "李四", "王五", "欧阳娜娜", "买买提·艾力"}
	for i := range benchCSVRows {
		name := names[i%len(names)]
		if i%10 == 0 {
			name = `"` + name + `,先生"`
		}
		addr := fmt.Sprintf("海南省海口市龙华区滨海大道%d号", i%500)
		if i%50 == 0 {
			addr = `"` + addr + "\n3单元501室\""
		}
		fmt.Fprintf(&b, "%s,居民身份证,46010219%08d%02d,%s,1960-01-%02d,%d,%s,2023-01-01 08:%02d:00\r\n",
			name, 90000000+i, i%100, []string{"男", "女"}[i%2], 1+i%28, 13900000000+i, addr, i%60)
	}
	return b.Bytes()
})

func benchCSVSource(b *testing.B, data []byte, enc schemas.Encoding) {
	path := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	m := &schemas.Mapping{HeaderRow: 1, Delimiter: ",", Encoding: enc}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		src, err := newCSVSource(path, m)
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
		if n != benchCSVRows {
			b.Fatalf("read %d rows, want %d", n, benchCSVRows)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkCSVSource reads the whole UTF-8 export through csvSource,
// opening included.
func BenchmarkCSVSource(b *testing.B) {
	benchCSVSource(b, benchCSV(), schemas.EncodingUTF8)
}

// BenchmarkCSVSourceGBK reads the same export encoded in GBK, decoded field
// by field.
func BenchmarkCSVSourceGBK(b *testing.B) {
	data, err := simplifiedchinese.GBK.NewEncoder().Bytes(benchCSV())
	if err != nil {
		b.Fatal(err)
	}
	benchCSVSource(b, data, schemas.EncodingGBK)
}

// BenchmarkCSVSourceUTF16 reads the same export as UTF-16LE with a BOM
// (PowerShell's Export-Csv -Encoding Unicode), decoded with the stream.
func BenchmarkCSVSourceUTF16(b *testing.B) {
	benchCSVSource(b, utf16Bytes(string(benchCSV()), binary.LittleEndian, true), schemas.EncodingAuto)
}
