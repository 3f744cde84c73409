package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/idfusion/idfusion/cleanse"
	"github.com/idfusion/idfusion/ingest"
	"github.com/idfusion/idfusion/internal/feedback"
	"github.com/idfusion/idfusion/internal/output"
	"github.com/idfusion/idfusion/internal/pii"
	"github.com/idfusion/idfusion/merge"
	"github.com/idfusion/idfusion/schemas"
)

// FileSummary is the outcome of one file in machine-readable form.
type FileSummary struct {
	Path     string           `json:"path"`
	Dept     string           `json:"dept"`
	SHA256   string           `json:"sha256,omitempty"`
	Format   schemas.Format   `json:"format,omitempty"`
	Encoding schemas.Encoding `json:"encoding,omitempty"`
	Read     int64            `json:"rows_read"`
	Accepted int64            `json:"rows_accepted"`
	Rejected int64            `json:"rows_rejected"`
	Warnings int64            `json:"warnings"`
	// Rejects counts rejected rows by reason; WarningCodes counts warnings.
	Rejects      map[schemas.Code]int64 `json:"rejects_by_reason"`
	WarningCodes map[schemas.Code]int64 `json:"warnings_by_reason"`
	// Error says why the file could not be used; "" when it was read.
	Error string `json:"error,omitempty"`
	// Changed marks a file written to while it was read: not unusable,
	// only to be taken again once it is complete.
	Changed bool `json:"changed_while_read,omitempty"`
	// FileFindings are the warnings found in nearly every accepted row,
	// reported once for the file (their rows are in WarningCodes).
	FileFindings []FileFinding `json:"file_findings,omitempty"`
}

// FileFinding is a warning found in nearly every accepted row of a file:
// the mapping or the export is wrong, not the rows (see fold).
type FileFinding struct {
	Code     schemas.Code  `json:"code"`
	Field    schemas.Field `json:"field"`
	Rows     int64         `json:"rows"`
	Accepted int64         `json:"rows_accepted"`
	// Message is what the department's workbook says, in Chinese, with
	// the example value masked.
	Message string `json:"message"`
}

// Summarize turns a report into its summary.
func Summarize(r FileReport) FileSummary {
	s := FileSummary{
		Path: r.Input.Path, Dept: r.Input.Mapping.Department.Code,
		SHA256: r.File.SHA256, Format: r.File.Format, Encoding: r.File.Encoding,
		Read: r.Stats.Read, Accepted: r.Stats.Accepted, Rejected: r.Stats.Rejected, Warnings: r.Stats.Warnings,
		Rejects: map[schemas.Code]int64{}, WarningCodes: map[schemas.Code]int64{},
	}
	for c, n := range r.Stats.ByCode {
		if c.Severity() == schemas.Reject {
			s.Rejects[c] = n
		} else {
			s.WarningCodes[c] = n
		}
	}
	if r.Err != nil {
		s.Error = r.Err.Error()
		s.Changed = errors.Is(r.Err, ingest.ErrFileChanged)
	}
	return s
}

// CheckResult is what a check found and wrote.
type CheckResult struct {
	Files []FileSummary `json:"files"`
	// RejectsParquet is the Parquet file of rejects (sensitive values
	// masked); Feedback lists one workbook per department.
	RejectsParquet string   `json:"rejects_parquet"`
	Feedback       []string `json:"feedback"`
	// ReadSeconds is the time spent reading and cleansing; ReportSeconds
	// the time spent writing the rejects and the workbooks.
	ReadSeconds   float64 `json:"read_seconds"`
	ReportSeconds float64 `json:"report_seconds"`
}

// Rejected reports whether any row was rejected.
func (c CheckResult) Rejected() bool {
	for _, f := range c.Files {
		if f.Rejected > 0 {
			return true
		}
	}
	return false
}

// Unusable reports whether any file could not be used.
func (c CheckResult) Unusable() bool {
	for _, f := range c.Files {
		if f.Error != "" {
			return true
		}
	}
	return false
}

// Check reads and cleanses the inputs without touching the database and
// writes, into outDir, the rejects as Parquet and each department's
// feedback workbook.
func Check(ctx context.Context, inputs []Input, outDir string, opts Options) (res CheckResult, err error) {
	col := NewCollector()
	col.DetailRows = opts.FeedbackRows
	if col.SpillDir, err = spillDir(outDir); err != nil {
		return res, err
	}
	defer os.RemoveAll(col.SpillDir)
	defer col.Close()
	// A path given twice is checked once: its findings are kept by path.
	seen := map[string]bool{}
	inputs = slices.DeleteFunc(slices.Clone(inputs), func(in Input) bool {
		p := filepath.Clean(in.Path)
		dup := seen[p]
		seen[p] = true
		return dup
	})
	start := time.Now()
	reports, err := Run(ctx, inputs, col, opts)
	if err != nil {
		return res, err
	}
	res = CheckResult{ReadSeconds: time.Since(start).Seconds()}
	defer func() { res.ReportSeconds = time.Since(start).Seconds() - res.ReadSeconds }()
	for _, r := range reports {
		res.Files = append(res.Files, col.summarize(r))
	}
	// The rejects and the workbooks appear together.
	set, err := output.NewSet(outDir)
	if err != nil {
		return res, err
	}
	defer set.Close()
	if err := set.File("rejects.parquet", output.Shared, func(w io.Writer) error {
		var readErr error
		err := writeFindingsParquet(w, col.rejects(&readErr))
		return cmp.Or(err, readErr)
	}); err != nil {
		return res, err
	}
	if err := col.WriteFeedback(set, reports); err != nil {
		return res, err
	}
	paths, err := set.Commit()
	if err != nil {
		return res, err
	}
	res.RejectsParquet, res.Feedback = paths[0], paths[1:]
	return res, nil
}

// spillDir makes the folder, hidden in outDir, where a run's Collector
// writes out findings (see Collector.SpillDir): beside the outputs, which
// hold the same values, readable by the run's user only. Its name carries
// the run's process id, so that the next run into outDir removes the
// folders of runs that died (killed, or the machine stopped) first.
func spillDir(outDir string) (string, error) {
	if err := os.MkdirAll(outDir, 0o750); err != nil {
		return "", err
	}
	removeDeadSpills(outDir)
	return os.MkdirTemp(outDir, fmt.Sprintf("%s%d-", spillPrefix, os.Getpid()))
}

// spillPrefix begins the name of a run's spill folder (its findings and,
// over its budget, its accepted rows); the process id and a random part
// follow.
const spillPrefix = ".spill-"

// removeDeadSpills removes the spill folders in outDir whose process is
// gone. A folder without a process id in its name (an older version's) is
// left to fusion purge --dir.
func removeDeadSpills(outDir string) {
	entries, err := os.ReadDir(outDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), spillPrefix)
		if !ok {
			// An older version's folder of findings (in clear).
			rest, ok = strings.CutPrefix(e.Name(), ".findings-")
		}
		pidText, _, dash := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || !dash || !e.IsDir() || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(outDir, e.Name()))
	}
}

// processAlive reports whether a process with the id runs (signal 0 checks
// without sending; EPERM: it runs as another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// finding is one collected finding with its department and file.
type finding struct {
	dept, sha string
	row       feedback.Row
	severity  schemas.Severity
}

// Collector is a Sink that keeps findings for the feedback workbooks and the
// rejects file, and discards clean rows. It keeps each file's findings apart
// so that, once the file is read, the warnings of nearly every row fold into
// one finding for the file (see fold).
type Collector struct {
	// DetailRows is how many findings a workbook's detail sheet lists at
	// most; 0 is feedback.DetailCap.
	DetailRows int
	// SpillDir, if set, is where the findings of a file read to its end go
	// when there are many, in listing order, until the run has written
	// them (see fileFindings.spill): the run then holds the findings of
	// the files being read only. Close removes them.
	SpillDir string
	// readErr is the first failure to read spilled findings back.
	readErr error

	mu    sync.Mutex
	files map[fileKey]*fileFindings
}

// fileKey tells the files of a run apart: the same bytes may come under
// two names.
type fileKey struct{ dept, sha, path string }

func keyOf(f ingest.File) fileKey { return fileKey{f.Dept, f.SHA256, f.Path} }

// NewCollector returns an empty Collector.
func NewCollector() *Collector { return &Collector{files: map[fileKey]*fileFindings{}} }

// Clean discards accepted rows.
func (c *Collector) Clean(ingest.File, arrow.Record) error { return nil }

// Findings keeps the findings of rec.
func (c *Collector) Findings(f ingest.File, rec arrow.Record) error {
	str := func(i int) *array.String { return rec.Column(i).(*array.String) }
	rows := rec.Column(schemas.ColRow).(*array.Int64)
	sev, code, field := str(schemas.FindSeverity), str(schemas.FindCode), str(schemas.FindField)
	key, value := str(schemas.FindSourceKey), str(schemas.FindValue)
	c.mu.Lock()
	defer c.mu.Unlock()
	ff := c.files[keyOf(f)]
	if ff == nil {
		ff = newFileFindings(f.Dept, f.SHA256, filepath.Base(f.Path))
		c.files[keyOf(f)] = ff
	}
	for i := range int(rec.NumRows()) {
		k := findingKind{schemas.Severity(sev.Value(i)), schemas.Code(code.Value(i)), schemas.Field(field.Value(i))}
		ff.add(rows.Value(i), k, key.Value(i), value.Value(i))
	}
	return nil
}

// Done folds the warnings found in nearly every accepted row of f.
func (c *Collector) Done(f ingest.File, st cleanse.Stats) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ff := c.files[keyOf(f)]; ff != nil {
		ff.fold(st.Accepted)
		if c.SpillDir != "" && ff.len() >= spillMin {
			return ff.spill(c.SpillDir)
		}
		// Sorted now, while the lock is held: the workbooks and the load's
		// rejects then read the findings at the same time, and only read.
		ff.order()
	}
	return nil
}

// Close removes the findings written out to SpillDir.
func (c *Collector) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ff := range c.files {
		ff.drop()
	}
}

// summarize is Summarize with the file's folded warnings.
func (c *Collector) summarize(r FileReport) FileSummary {
	s := Summarize(r)
	if r.Err != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ff := c.files[keyOf(r.File)]; ff != nil {
		for _, fd := range ff.folded {
			// The report is read beyond the department: its example is masked
			// as the rejects table masks values.
			fd.Example = MaskValue(fd.Field, fd.Example)
			s.FileFindings = append(s.FileFindings, FileFinding{Code: fd.Code, Field: fd.Field, Rows: fd.Rows, Accepted: fd.Accepted, Message: fd.Text()})
		}
	}
	return s
}

// Abandon drops the findings of f.
func (c *Collector) Abandon(f ingest.File) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ff := c.files[keyOf(f)]; ff != nil {
		ff.drop()
	}
	delete(c.files, keyOf(f))
}

// storedRejects yields the collected rejects by department, file name,
// row and reason, as the store keeps them (source key redacted, sensitive
// values masked), one at a time from where the Collector keeps them. A
// failure to read them back is yielded and ends the sequence. It may run
// while WriteFeedback does: each keeps its own read error.
func (c *Collector) storedRejects() iter.Seq2[merge.Reject, error] {
	return func(yield func(merge.Reject, error) bool) {
		var readErr error
		for f := range c.rejects(&readErr) {
			if !yield(merge.Reject{Dept: f.dept, File: f.sha, Row: f.row.Row, SourceKey: pii.Redact(f.row.SourceKey),
				Code: f.row.Code, Field: f.row.Field, Value: MaskValue(f.row.Field, f.row.Value)}, nil) {
				return
			}
		}
		if readErr != nil {
			yield(merge.Reject{}, readErr)
		}
	}
}

// rejects yields the collected rejects by department, file name, row and
// reason, one at a time from where the Collector keeps them. A failure to
// read them back ends the sequence and is kept in *errp.
func (c *Collector) rejects(errp *error) iter.Seq[finding] {
	return func(yield func(finding) bool) {
		ffs := slices.Collect(maps.Values(c.files))
		slices.SortFunc(ffs, func(a, b *fileFindings) int {
			return cmp.Or(cmp.Compare(a.dept, b.dept), cmp.Compare(a.file, b.file), cmp.Compare(a.sha, b.sha))
		})
		for _, ff := range ffs {
			for f := range ff.all(errp) {
				if f.severity == schemas.Reject && !yield(f) {
					return
				}
			}
		}
	}
}

// WriteFeedback writes one workbook per department of reports into set,
// with the CSV of what its detail sheets leave out (see feedback.Write). The
// findings go to the workbooks one at a time from where the Collector keeps
// them (its arrays, or the files of SpillDir).
func (c *Collector) WriteFeedback(set *output.Set, reports []FileReport) error {
	books := map[string]*feedback.Workbook{}
	for _, r := range reports {
		d := r.Input.Mapping.Department
		wb := books[d.Code]
		if wb == nil {
			wb = &feedback.Workbook{Dept: d}
			books[d.Code] = wb
		}
		fl := feedback.File{Name: filepath.Base(r.Input.Path), SHA256: r.File.SHA256,
			Read: r.Stats.Read, Accepted: r.Stats.Accepted, Rejected: r.Stats.Rejected, Warnings: r.Stats.Warnings}
		if r.Err != nil {
			fl.Error = FileProblem(r.Err)
		} else if ff := c.files[keyOf(r.File)]; ff != nil {
			fl.Folded = ff.folded
		}
		wb.Files = append(wb.Files, fl)
	}
	files := map[string][]*fileFindings{} // by department, in file order
	for _, ff := range c.files {
		if books[ff.dept] != nil { // not the findings of a department none of whose reports are given
			files[ff.dept] = append(files[ff.dept], ff)
		}
	}
	for code, ffs := range files {
		slices.SortFunc(ffs, func(a, b *fileFindings) int { return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.sha, b.sha)) })
		list := func(sev schemas.Severity) feedback.List {
			return func(yield func(feedback.Row) bool) {
				for _, ff := range ffs {
					for f := range ff.all(&c.readErr) {
						if f.severity == sev && !yield(f.row) {
							return
						}
					}
				}
			}
		}
		books[code].Rejects, books[code].Warnings = list(schemas.Reject), list(schemas.Warning)
	}
	for _, code := range slices.Sorted(maps.Keys(books)) {
		if err := feedback.Write(set, *books[code], c.DetailRows); err != nil {
			return err
		}
	}
	return c.err()
}

// err is the first failure to read spilled findings back: what was
// written from them is incomplete.
func (c *Collector) err() error { return c.readErr }

// FileProblem explains in Chinese, for the department, why a file could
// not be used; the technical detail follows for the engineer.
func FileProblem(err error) string {
	var ce *ingest.ColumnError
	if errors.As(err, &ce) {
		return fmt.Sprintf("文件缺少约定的列“%s”，整个文件未处理（%v）", ce.Column, err)
	}
	if errors.Is(err, ingest.ErrFileChanged) {
		return fmt.Sprintf("文件在读取过程中被修改，整个文件未处理，将在文件稳定后重新处理（%v）", err)
	}
	var xe *ingest.XLSXError
	if errors.As(err, &xe) {
		return fmt.Sprintf("文件无法读取（%s），整个文件未处理（%v）", xlsxProblem(xe), err)
	}
	var fe *ingest.FormatError
	if errors.As(err, &fe) {
		return fmt.Sprintf("文件无法读取（%s），整个文件未处理（%v）", formatProblem(fe), err)
	}
	return fmt.Sprintf("文件无法读取，整个文件未处理（%v）", err)
}

// formatNames are the formats as a department calls them.
var formatNames = map[schemas.Format]string{
	schemas.FormatCSV:     "CSV或制表符分隔的文本",
	schemas.FormatXLSX:    "XLSX工作簿",
	schemas.FormatXLS:     "旧版Excel（.xls）工作簿",
	schemas.FormatParquet: "Parquet文件",
	schemas.FormatArrow:   "Arrow文件",
}

// formatProblem says in Chinese what the file's content is and what it
// should have been.
func formatProblem(e *ingest.FormatError) string {
	const readable = "本系统可读取CSV或制表符分隔的文本、XLSX、XLS、Parquet和Arrow文件"
	if e.Content == "" {
		return "文件内容不是可读取的表格，" + readable
	}
	is := "文件内容是" + formatNames[e.Content]
	switch e.By {
	case ingest.SaidByName:
		return is + "，与扩展名（." + string(e.Said) + "）不符：可能是网页或改了扩展名的文件，请另存为真正的表格文件"
	case ingest.SaidByMapping:
		return is + "，与约定的格式（" + formatNames[e.Said] + "）不符：请按约定格式导出，或联系管理员修改映射"
	}
	return is + "，不是要求的" + formatNames[e.Said]
}

// xlsxKinds says for each kind of XLSX problem what it means to the
// department and what to do about it.
var xlsxKinds = []struct {
	kind error
	text string
}{
	{ingest.ErrNotXLSX, "不是XLSX文件：可能是改了扩展名的CSV或旧版.xls，或设置了打开密码，请另存为无密码的.xlsx"},
	{ingest.ErrDamagedZip, "文件已损坏或不完整，可能未完整复制，请重新复制或重新导出"},
	{ingest.ErrMissingPart, "工作簿缺少组成部分，文件已损坏，请重新导出"},
	{ingest.ErrNoSheet, "找不到约定的工作表"},
	{ingest.ErrTruncatedXML, "内容中途截断，文件不完整，请重新导出"},
	{ingest.ErrMalformedXML, "内容格式错误，文件已损坏，请重新导出"},
	{ingest.ErrBadRowNumber, "行号错误，文件已损坏，请重新导出"},
	{ingest.ErrBadCellRef, "单元格位置错误，文件已损坏，请重新导出"},
	{ingest.ErrSharedString, "单元格引用了不存在的文本，文件已损坏，请重新导出"},
	{ingest.ErrNoHeader, "找不到表头行，请核对约定的表头行号"},
	{ingest.ErrNotXLS, "不是Excel 97-2003（.xls）工作簿：可能是改了扩展名的.xlsx、CSV或网页表格，请另存为.xlsx"},
	{ingest.ErrDamagedXLS, "文件已损坏或不完整，可能未完整复制，请重新复制或重新导出"},
	{ingest.ErrXLSEncrypted, "工作簿设置了打开密码，请去掉密码后另存为.xlsx"},
	{ingest.ErrUnsupported, "含有本系统不支持的内容（超大单元格、UTF-16编码或Excel 95及更早版本的工作簿），请另存为普通的.xlsx"},
}

// xlsxProblem says in Chinese where in the workbook the problem is, in the
// terms of Excel (sheet, row, cell, column header), and what it is.
func xlsxProblem(e *ingest.XLSXError) string {
	var where string
	if e.Sheet != "" {
		where = "工作表“" + e.Sheet + "”"
	}
	if e.Row > 0 {
		where += fmt.Sprintf("第%d行", e.Row)
	} else if e.After > 0 {
		where += fmt.Sprintf("第%d行之后", e.After)
	}
	if cell := e.Cell(); cell != "" {
		where += cell + "单元格"
		if e.Header != "" {
			where += "（“" + e.Header + "”列）"
		}
	}
	for _, k := range xlsxKinds {
		if errors.Is(e, k.kind) {
			if where != "" {
				where += "："
			}
			return where + k.text
		}
	}
	return where
}
