package schemas

import (
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// StringColumn builds a non-null string array by appending to plain Go
// slices. The stages append tens of millions of short strings; arrow's
// StringBuilder spends most of the stage's time on per-value bookkeeping
// (bounds, validity bits, offset encoding), this spends almost none.
type StringColumn struct {
	offsets []int32
	data    []byte
	// Reuse makes NewArray keep the buffers for the next batch instead of
	// allocating new ones: only for a caller that releases each array, and
	// drops every string taken from it, before appending again.
	Reuse bool
}

// NewStringColumn returns a column with room for rows values of about
// width bytes each.
func NewStringColumn(rows, width int) *StringColumn {
	c := &StringColumn{offsets: make([]int32, 1, rows+1), data: make([]byte, 0, rows*width)}
	return c
}

// Append adds one value.
func (c *StringColumn) Append(s string) {
	c.data = append(c.data, s...)
	c.offsets = append(c.offsets, int32(len(c.data)))
}

// Len is the number of values appended.
func (c *StringColumn) Len() int { return len(c.offsets) - 1 }

// NewArray hands the values over as an arrow array and starts a new,
// empty column of the same capacity. The array owns the old buffers.
func (c *StringColumn) NewArray() arrow.Array {
	n := c.Len()
	data := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{
		nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offsets)),
		memory.NewBufferBytes(c.data),
	}, nil, 0, 0)
	defer data.Release()
	if c.Reuse {
		c.offsets, c.data = c.offsets[:1], c.data[:0]
		return array.MakeFromData(data)
	}
	// The next batch is likely the size of this one: allocate for that, not
	// for the capacity append may have doubled to.
	c.offsets = make([]int32, 1, n+1)
	c.data = make([]byte, 0, len(c.data)+len(c.data)/8)
	return array.MakeFromData(data)
}
