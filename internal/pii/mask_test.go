package pii

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fn   func(string) string
		in   string
		want string
	}{
		{"id18", MaskID, "46010219900101123X", "4*****X"},
		{"id_seed", MaskID, "460102199001011234", "4*****4"},
		{"id_empty", MaskID, "", ""},
		{"id_one", MaskID, "4", "*****"},
		{"id_sci", MaskID, "4.60102E+17", "4*****7"},
		{"phone", MaskPhone, "13912349071", "139****9071"},
		{"phone_short", MaskPhone, "12345", "****"},
		{"phone_fullwidth", MaskPhone, "１３９１２３４９０７１", "１３９****９０７１"},
		{"id_multibyte", MaskID, "港１２３", "港*****３"},
		{"name", MaskName, "hikari", "hi****"},
		{"name_cjk", MaskName, "张三丰", "张三****"},
		{"name_short", MaskName, "张", "张****"},
		{"person_name", MaskPersonName, "韩洪阳", "韩****"},
		{"person_name_dot", MaskPersonName, "阿依古丽·买买提", "阿****"},
		{"person_name_empty", MaskPersonName, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, tt.fn(tt.in)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
