package schemas

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/google/go-cmp/cmp"
)

func TestStringColumn(t *testing.T) {
	t.Parallel()
	c := NewStringColumn(2, 4)
	want := []string{"张三", "", "11010519491231002X", "·"}
	for _, s := range want {
		c.Append(s)
	}
	a := c.NewArray().(*array.String)
	defer a.Release()
	var got []string
	for i := 0; i < a.Len(); i++ {
		got = append(got, a.Value(i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	if c.Len() != 0 || a.NullN() != 0 {
		t.Errorf("column not reset (%d) or nulls (%d)", c.Len(), a.NullN())
	}
	c.Append("x")
	if a.Value(0) != "张三" {
		t.Error("appending after NewArray changed the old array")
	}
}
