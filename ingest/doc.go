// Package ingest reads one departmental export (CSV in UTF-8, GBK,
// GB18030 or UTF-16; XLSX; Parquet; Arrow IPC) through the department's
// mapping into Arrow record batches of raw strings with provenance
// (schemas.RawPerson). The reader is chosen by the file's content
// (sniff.go); content that contradicts the mapping's format, or that no
// reader reads, is a *FormatError.
//
// Like encoding/csv, a Reader streams: memory is bounded by the batch size,
// not the file size. A problem with one row (wrong field count, bytes that
// do not decode) is recorded on the row as a defect for the cleanse stage to
// reject; only I/O errors, a missing mapped column (*ColumnError) or a
// corrupt container fail the file. An XLSX file's problems are
// *XLSXError, which tells the sheet, the row and the cell, and wraps a
// sentinel per kind of problem (ErrDamagedZip, ErrSharedString, …).
package ingest
