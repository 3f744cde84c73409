package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/internal/report"
	"github.com/idfusion/idfusion/schemas"
)

func runExport(ctx context.Context, e *env, args []string) (int, error) {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := addDBFlags(fs)
	format := fs.String("format", "parquet", "parquet or csv (UTF-8 with BOM, for Excel: import id_number as Text, or Excel rounds it)")
	out := fs.String("out", "", "the output file (required)")
	decrypt := fs.Bool("decrypt", false, "add the ID numbers and phones in clear (needs --reason and the key file; recorded and logged)")
	reason := fs.String("reason", "", "why the export is made (required with --decrypt; recorded in export_audit)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: fusion export --format parquet|csv --out FILE [--decrypt --reason TEXT]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage, nil
	}
	if fs.NArg() > 0 || *out == "" {
		fs.Usage()
		return exitUsage, nil
	}
	if *format != "parquet" && *format != "csv" {
		return 0, usagef("--format %q: want parquet or csv", *format)
	}
	cfg := exportConfig{format: *format, reason: strings.TrimSpace(*reason), decrypt: *decrypt}
	if cfg.decrypt && cfg.reason == "" {
		return 0, usagef("--decrypt needs --reason: why the ID numbers and phones are exported in clear")
	}
	var err error
	if cfg.path, err = filepath.Abs(*out); err != nil {
		return 0, usageError{err}
	}
	if cfg.decrypt {
		if cfg.keys, err = exportKeyring(e, *db.dataDir); err != nil {
			return 0, err
		}
	}
	pool, closeDB, err := db.open(ctx, e, false)
	if err != nil {
		return 0, err
	}
	defer closeDB(context.WithoutCancel(ctx))

	n, err := exportGoldens(ctx, e.log, pool, cfg)
	if err != nil {
		return 0, err
	}
	what := "masked"
	if cfg.decrypt {
		what = "with ID numbers and phones IN CLEAR"
	}
	fmt.Fprintf(e.stdout, "exported %d golden records to %s (%s, %s)\n", n, cfg.path, cfg.format, what)
	return exitOK, nil
}

// exportKeyring is loadKeyring for a command that only decrypts: without
// IDFUSION_KEY_FILE the development key must already exist, since a new
// one would open nothing.
func exportKeyring(e *env, dataDir string) (*pii.Keyring, error) {
	if e.getenv("IDFUSION_KEY_FILE") == "" {
		dev := filepath.Join(dataDir, "keys", "dev.key")
		if _, err := os.Stat(dev); err != nil {
			return nil, usagef("--decrypt: no key file: set IDFUSION_KEY_FILE, or --data-dir to the folder of the imports' development key (%s: %v)", dev, err)
		}
	}
	return loadKeyring(e, dataDir)
}

type exportConfig struct {
	format  string // "parquet" or "csv"
	path    string // absolute
	decrypt bool
	reason  string
	keys    *pii.Keyring // with decrypt
}

// exportGoldens writes every golden record to cfg.path, and records the
// export in export_audit before it reads the first row. The file is
// written beside its final name and renamed when complete: a failed export
// leaves no file behind.
func exportGoldens(ctx context.Context, log *slog.Logger, pool *pgxpool.Pool, cfg exportConfig) (n int64, err error) {
	mode := output.Shared
	if cfg.decrypt {
		mode = output.Private
	}
	tmp, err := output.Create(cfg.path, mode)
	if err != nil {
		return 0, err
	}
	defer tmp.Abort()
	auditID, err := report.StartExport(ctx, pool, cfg.reason, cfg.path, cfg.decrypt)
	if err != nil {
		return 0, err
	}
	var decrypted int64
	if cfg.decrypt {
		defer func() {
			if decrypted == 0 {
				return
			}
			// Never the values: how many, why and where.
			log.Warn("export_decrypted", slog.Int64("rows", decrypted), slog.String("reason", cfg.reason),
				slog.String("path", cfg.path), slog.Int64("audit_id", auditID), slog.Bool("completed", err == nil))
		}()
	}
	buf := bufio.NewWriterSize(tmp, 1<<20)
	cols := exportColumns(cfg.decrypt)
	var w goldenWriter
	if cfg.format == "csv" {
		w, err = newCSVGoldens(buf, cols)
	} else {
		w, err = newParquetGoldens(buf, cols)
	}
	if err != nil {
		return 0, err
	}
	var row exportRow
	var seen int
	n, err = report.Goldens(ctx, pool, report.GoldenOptions{Sealed: cfg.decrypt}, func(g *report.Golden) error {
		if seen++; seen%schemas.BatchRows == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		row = exportRow{Golden: g}
		if !cfg.decrypt {
			redactGolden(g)
			return w.write(&row)
		}
		if err := row.open(cfg.keys); err != nil {
			return fmt.Errorf("%w (is this the key the imports sealed with? see IDFUSION_KEY_FILE and --data-dir)", err)
		}
		decrypted++
		return w.write(&row)
	})
	if err != nil {
		return n, err
	}
	if err := w.close(ctx); err != nil {
		return n, err
	}
	if err := buf.Flush(); err != nil {
		return n, err
	}
	if err := tmp.Commit(); err != nil {
		return n, err
	}
	return n, report.FinishExport(ctx, pool, auditID, n)
}

// redactGolden masks department free text that looks like an ID number or
// phone in a masked export.
func redactGolden(g *report.Golden) {
	g.Name = pii.Redact(g.Name)
	g.Address = pii.Redact(g.Address)
	g.RepName, g.ContactName = pii.Redact(g.RepName), pii.Redact(g.ContactName)
	for _, s := range []*report.ValueSource{g.NameSource, g.PhoneSource, g.AddressSource, g.RepSource, g.ContactSource} {
		if s != nil {
			s.SourceKey = pii.Redact(s.SourceKey)
		}
	}
}

// exportRow is a golden record as exported: with --decrypt, its ID number
// and phone opened.
type exportRow struct {
	*report.Golden
	idNumber, phone string
	hasPhone        bool
}

func (r *exportRow) open(keys *pii.Keyring) error {
	id, err := keys.Open(r.IDSealed, []byte(schemas.FieldIDNumber))
	if err != nil {
		return fmt.Errorf("account %d: id_number: %w", r.AccountID, err)
	}
	r.idNumber = string(id)
	if r.PhoneSealed != nil {
		p, err := keys.Open(r.PhoneSealed, []byte(schemas.FieldPhone))
		if err != nil {
			return fmt.Errorf("account %d: phone: %w", r.AccountID, err)
		}
		r.phone, r.hasPhone = string(p), true
	}
	return nil
}

// exportColumn is a column of the export: its Arrow field, how it appends
// a row to its builder (Parquet) and how it prints as text (CSV).
type exportColumn struct {
	field  arrow.Field
	append func(b array.Builder, r *exportRow)
	text   func(r *exportRow) string
}

func stringColumn(name string, v func(r *exportRow) string) exportColumn {
	return exportColumn{
		field:  arrow.Field{Name: name, Type: arrow.BinaryTypes.String},
		append: func(b array.Builder, r *exportRow) { b.(*array.StringBuilder).Append(v(r)) },
		text:   v,
	}
}

func int64Column(name string, v func(r *exportRow) int64) exportColumn {
	return exportColumn{
		field:  arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64},
		append: func(b array.Builder, r *exportRow) { b.(*array.Int64Builder).Append(v(r)) },
		text:   func(r *exportRow) string { return strconv.FormatInt(v(r), 10) },
	}
}

// sourceColumns are the four columns of a surviving value's source, null
// (empty in CSV) when it has none.
func sourceColumns(prefix string, src func(r *exportRow) *report.ValueSource) []exportColumn {
	str := func(name string, v func(s *report.ValueSource) string) exportColumn {
		return exportColumn{
			field: arrow.Field{Name: prefix + name, Type: arrow.BinaryTypes.String, Nullable: true},
			append: func(b array.Builder, r *exportRow) {
				if s := src(r); s != nil {
					b.(*array.StringBuilder).Append(v(s))
				} else {
					b.AppendNull()
				}
			},
			text: func(r *exportRow) string {
				if s := src(r); s != nil {
					return v(s)
				}
				return ""
			},
		}
	}
	return []exportColumn{
		str("_dept", func(s *report.ValueSource) string { return s.Dept }),
		str("_sha256", func(s *report.ValueSource) string { return s.SHA256 }),
		{
			field: arrow.Field{Name: prefix + "_row", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			append: func(b array.Builder, r *exportRow) {
				if s := src(r); s != nil {
					b.(*array.Int64Builder).Append(s.Row)
				} else {
					b.AppendNull()
				}
			},
			text: func(r *exportRow) string {
				if s := src(r); s != nil {
					return strconv.FormatInt(s.Row, 10)
				}
				return ""
			},
		},
		str("_key", func(s *report.ValueSource) string { return s.SourceKey }),
	}
}

// exportColumns lists the export's columns; decrypt adds id_number and
// phone beside their masked forms.
func exportColumns(decrypt bool) []exportColumn {
	cols := []exportColumn{
		int64Column("account_id", func(r *exportRow) int64 { return r.AccountID }),
		stringColumn("id_hint", func(r *exportRow) string { return r.IDHint }),
	}
	if decrypt {
		cols = append(cols, stringColumn("id_number", func(r *exportRow) string { return r.idNumber }))
	}
	cols = append(cols,
		stringColumn("id_type", func(r *exportRow) string { return r.IDType }),
		stringColumn("name", func(r *exportRow) string { return r.Name }),
		stringColumn("gender", func(r *exportRow) string { return r.Gender }),
		exportColumn{
			field: arrow.Field{Name: "birth_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
			append: func(b array.Builder, r *exportRow) {
				if r.BirthDate != nil {
					b.(*array.Date32Builder).Append(arrow.Date32FromTime(*r.BirthDate))
				} else {
					b.AppendNull()
				}
			},
			text: func(r *exportRow) string {
				if r.BirthDate != nil {
					return r.BirthDate.Format("2006-01-02")
				}
				return ""
			},
		},
		stringColumn("phone_hint", func(r *exportRow) string { return r.PhoneHint }),
	)
	if decrypt {
		cols = append(cols, exportColumn{
			field: arrow.Field{Name: "phone", Type: arrow.BinaryTypes.String, Nullable: true},
			append: func(b array.Builder, r *exportRow) {
				if r.hasPhone {
					b.(*array.StringBuilder).Append(r.phone)
				} else {
					b.AppendNull()
				}
			},
			text: func(r *exportRow) string { return r.phone },
		})
	}
	cols = append(cols,
		stringColumn("address", func(r *exportRow) string { return r.Address }),
		stringColumn("status", func(r *exportRow) string { return r.Status }),
		stringColumn("origin", func(r *exportRow) string { return r.Origin }),
		exportColumn{
			field: arrow.Field{Name: "required_steps", Type: arrow.ListOf(arrow.BinaryTypes.String)},
			append: func(b array.Builder, r *exportRow) {
				lb := b.(*array.ListBuilder)
				lb.Append(true)
				vb := lb.ValueBuilder().(*array.StringBuilder)
				for _, s := range r.RequiredSteps {
					vb.Append(s)
				}
			},
			text: func(r *exportRow) string { return strings.Join(r.RequiredSteps, ",") },
		},
	)
	cols = append(cols, sourceColumns("name_source", func(r *exportRow) *report.ValueSource { return r.NameSource })...)
	cols = append(cols, sourceColumns("phone_source", func(r *exportRow) *report.ValueSource { return r.PhoneSource })...)
	cols = append(cols, sourceColumns("address_source", func(r *exportRow) *report.ValueSource { return r.AddressSource })...)
	cols = append(cols, int64Column("lineage_rows", func(r *exportRow) int64 { return r.LineageRows }))
	// The account's kind, and a legal account's own values (masked as a
	// person's are: the representative's ID as its hint; "" for a natural
	// account).
	cols = append(cols,
		stringColumn("kind", func(r *exportRow) string { return r.Kind }),
		stringColumn("legal_type", func(r *exportRow) string { return r.LegalType }),
		stringColumn("rep_name", func(r *exportRow) string { return r.RepName }),
		stringColumn("rep_id_hint", func(r *exportRow) string { return r.RepIDHint }),
		stringColumn("contact_name", func(r *exportRow) string { return r.ContactName }),
		stringColumn("realname_status", func(r *exportRow) string { return r.Realname }))
	cols = append(cols, sourceColumns("rep_source", func(r *exportRow) *report.ValueSource { return r.RepSource })...)
	return append(cols, sourceColumns("contact_source", func(r *exportRow) *report.ValueSource { return r.ContactSource })...)
}

// goldenWriter writes export rows in one format; close completes the
// format (footer, buffers) but leaves the file open.
type goldenWriter interface {
	write(r *exportRow) error
	close(ctx context.Context) error
}

// parquetGoldens writes record batches of schemas.BatchRows rows, each a
// row group: memory holds one batch, however many accounts there are.
type parquetGoldens struct {
	cols []exportColumn
	w    *pqarrow.FileWriter
	b    *array.RecordBuilder
	n    int
}

func newParquetGoldens(f io.Writer, cols []exportColumn) (*parquetGoldens, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = c.field
	}
	schema := arrow.NewSchema(fields, nil)
	w, err := pqarrow.NewFileWriter(schema, f,
		parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithMaxRowGroupLength(schemas.BatchRows)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return &parquetGoldens{cols: cols, w: w, b: array.NewRecordBuilder(memory.DefaultAllocator, schema)}, nil
}

func (p *parquetGoldens) write(r *exportRow) error {
	for i, c := range p.cols {
		c.append(p.b.Field(i), r)
	}
	if p.n++; p.n == schemas.BatchRows {
		return p.flush()
	}
	return nil
}

func (p *parquetGoldens) flush() error {
	rec := p.b.NewRecord()
	defer rec.Release()
	p.n = 0
	if err := p.w.Write(rec); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

func (p *parquetGoldens) close(ctx context.Context) error {
	defer p.b.Release()
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.n > 0 {
		if err := p.flush(); err != nil {
			return err
		}
	}
	// The sink is no io.Closer: the file stays open.
	if err := p.w.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// csvGoldens writes UTF-8 CSV with a byte order mark, so that Excel reads
// the Chinese text right, every cell escaped against formula injection.
type csvGoldens struct {
	cols []exportColumn
	w    *csv.Writer
	rec  []string
}

func newCSVGoldens(w io.Writer, cols []exportColumn) (*csvGoldens, error) {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return nil, err
	}
	c := &csvGoldens{cols: cols, w: csv.NewWriter(w), rec: make([]string, len(cols))}
	for i, col := range cols {
		c.rec[i] = col.field.Name
	}
	return c, c.w.Write(c.rec)
}

func (c *csvGoldens) write(r *exportRow) error {
	for i, col := range c.cols {
		c.rec[i] = feedback.Escape(col.text(r))
	}
	return c.w.Write(c.rec)
}

func (c *csvGoldens) close(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}
