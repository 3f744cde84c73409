package ingest

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// csvRecord is one record as both readers see it.
type csvRecord struct {
	Line  int
	Cells []string
	// Open: the input ended inside a quoted field of the record.
	Open bool
}

// stdRecords reads b with encoding/csv set up as csvSource used to, with
// the scanner's two additions: line breaks in cells made LF, and the last
// record marked Open when the input ended inside one of its quoted fields.
// That is when appending a line to the input does not add a record: the
// open field takes it in.
func stdRecords(t *testing.T, b []byte, comma byte) []csvRecord {
	t.Helper()
	recs := rawStdRecords(t, b, comma)
	more := rawStdRecords(t, append(b[:len(b):len(b)], "\nZ"...), comma)
	if len(more) == len(recs) {
		recs[len(recs)-1].Open = true
	}
	for _, r := range recs {
		for i, v := range r.Cells {
			r.Cells[i] = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
		}
	}
	return recs
}

func rawStdRecords(t *testing.T, b []byte, comma byte) []csvRecord {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comma = rune(comma)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var out []csvRecord
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("encoding/csv: %v", err)
		}
		line, _ := cr.FieldPos(0)
		out = append(out, csvRecord{Line: line, Cells: rec})
	}
}

// scanRecords reads b with csvScanner, copying the cells, and checks the
// multiline flag against the cells.
func scanRecords(t *testing.T, r io.Reader, comma byte, bufSize int) []csvRecord {
	t.Helper()
	sc := newCSVScanner(r, comma, bufSize)
	var out []csvRecord
	for {
		rec, err := sc.read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("csvScanner: %v", err)
		}
		cells := make([]string, len(rec))
		multiline := false
		for i, v := range rec {
			cells[i] = string([]byte(v))
			if bytes.ContainsAny([]byte(v), "\r\n") {
				multiline = true
			}
		}
		if multiline != sc.multiline {
			t.Fatalf("record at line %d %q: multiline = %v, want %v", sc.line, cells, sc.multiline, multiline)
		}
		out = append(out, csvRecord{Line: int(sc.line), Cells: cells, Open: sc.open})
	}
}

func checkScanner(t *testing.T, b []byte, comma byte, bufSize int, oneByte bool) {
	t.Helper()
	want := stdRecords(t, b, comma)
	var r io.Reader = bytes.NewReader(b)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	got := scanRecords(t, r, comma, bufSize)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("input %q, delimiter %q, buffer %d: records differ from encoding/csv (-want +got):\n%s", b, comma, bufSize, diff)
	}
}

var scanCases = []string{
	"",
	"\n",
	"\r",
	"\r\n\r\n",
	"a",
	"a,b\nc,d",
	"a,b\r\nc,d\r\n",
	"a,b\r\n\r\n\n,\nc,d\r",
	"a\r\rb\r\r\n",
	"a\rb,c\n",
	",\n,,\n",
	"\"\"",
	"\"",
	"a,\"",
	"\"a\"\"b\",c\n",
	"\"a\nb\",c\nd\n",
	"\"a\r\nb\r\n\",c\r\nd\r\n",
	"\"a\r\n",
	"\"a\n\r",
	"\"a\n",
	"\"a\"b\"c\nd\"\n",
	"\"ab\"c\"",
	"a\"b,c\"d\"\n",
	"\"a\" ,b\n",
	"\"a\"\r,b\n",
	"\"a\"\"\n\"\n",
	"x,\"\n\n\n\",y\n\nz",
	"\xef\xbb\xbfa,b\n",
	"\"\xff\",\xfe\n",
	"a\tb\t\"c\td\"\n",
	"編號,姓名\n\"張\"\"三\",李四\n",
	"a,\"b\rc\"\r\n",
	"a,\"b\r\r\nc\r\n\",d\r\n",
	"a,\"b\"\"",
	"a,\"b\r",
	"a,\"b\"",
	"a,\"b\"c\n",
	"a,\"b\n\n",
}

func TestCSVScannerMatchesEncodingCSV(t *testing.T) {
	t.Parallel()
	for _, in := range scanCases {
		for _, comma := range []byte{',', '\t', ';', '|'} {
			for _, size := range []int{1, 3, 16, csvScanBuf} {
				checkScanner(t, []byte(in), comma, size, false)
				checkScanner(t, []byte(in), comma, size, true)
			}
		}
	}
}

func TestCSVScannerLongRecord(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	b.WriteString("h1,h2\n\"")
	for i := 0; i < 100_000; i++ {
		b.WriteString("x\"\"y\r\n")
	}
	b.WriteString("\",z\nlast,row\n")
	checkScanner(t, b.Bytes(), ',', 64, false)
}

func TestCSVScannerReadError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	sc := newCSVScanner(io.MultiReader(bytes.NewReader([]byte("a,b\nc")), iotest.ErrReader(boom)), ',', 16)
	if rec, err := sc.read(); err != nil || len(rec) != 2 {
		t.Fatalf("read() = %q, %v; want the first record", rec, err)
	}
	if rec, err := sc.read(); err != nil || len(rec) != 1 || rec[0] != "c" {
		t.Fatalf("read() = %q, %v; want the record cut by the error", rec, err)
	}
	if _, err := sc.read(); !errors.Is(err, boom) {
		t.Fatalf("read() error = %v, want %v", err, boom)
	}
}

// FuzzCSVScanner holds csvScanner to encoding/csv's records and line numbers
// for any input, delimiter and buffer size.
func FuzzCSVScanner(f *testing.F) {
	for _, in := range scanCases {
		f.Add([]byte(in), byte(0), uint16(16))
	}
	f.Fuzz(func(t *testing.T, b []byte, delim byte, size uint16) {
		commas := []byte{',', '\t', ';', '|', 'a', ' '}
		comma := commas[int(delim)%len(commas)]
		checkScanner(t, b, comma, int(size%512)+1, delim&0x80 != 0)
	})
}

// FuzzCSVDecode holds csvSource.decode to the decoder's own String.
func FuzzCSVDecode(f *testing.F) {
	f.Add([]byte("张三 A1"), false)
	f.Add([]byte{0xAA, 0xA1, 'x', 0x81}, true)
	f.Add([]byte{0x81, 0x30, 0x81, 0x30, 0xff}, true)
	f.Fuzz(func(t *testing.T, b []byte, gb18030 bool) {
		var enc encoding.Encoding = simplifiedchinese.GBK
		if gb18030 {
			enc = simplifiedchinese.GB18030
		}
		s := &csvSource{dec: enc.NewDecoder()}
		want, err := enc.NewDecoder().String(string(b))
		if err != nil {
			want = "\uFFFD"
		}
		s.decoded = append(s.decoded, "prefix"...)
		if got := s.decode(string(b)); got != want {
			t.Fatalf("decode(%q) = %q, want %q", b, got, want)
		}
	})
}
