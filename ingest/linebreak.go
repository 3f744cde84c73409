package ingest

import "bytes"

// breaksToLF rewrites b in place so that every CRLF or lone CR is LF, and
// returns the shortened slice. Cells of every text format pass through it,
// so an Alt+Enter line break is the same value whichever writer stored it
// (CRLF in a CSV cell, "_x000D_" plus LF or "&#13;" in an XLSX one).
func breaksToLF(b []byte) []byte {
	i := bytes.IndexByte(b, '\r')
	if i < 0 {
		return b
	}
	w := i
	for ; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			c = '\n'
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		}
		b[w] = c
		w++
	}
	return b[:w]
}
