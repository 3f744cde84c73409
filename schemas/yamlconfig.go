package schemas

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/goccy/go-yaml"
)

var validate = validator.New(validator.WithRequiredStructEnabled())

func init() {
	// Validation errors name fields as the YAML does.
	validate.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
}

// DecodeYAML decodes a configuration document strictly (an unknown field
// is an error) into v, a pointer to a struct, and validates it by its
// `validate` tags. A failed rule is returned with the YAML path of its
// field ("departments[1].schedule"); field is "" when the error concerns
// the whole document. Mappings, run manifests and the schedule's
// configuration all load this way, so their errors read alike.
func DecodeYAML(b []byte, v any) (field string, err error) {
	if err := yaml.UnmarshalWithOptions(b, v, yaml.Strict()); err != nil {
		return "", errors.New(yaml.FormatError(err, false, true))
	}
	if err := validate.Struct(v); err != nil {
		var ve validator.ValidationErrors
		if errors.As(err, &ve) && len(ve) > 0 {
			fe := ve[0]
			ns := fe.Namespace()
			if _, rest, ok := strings.Cut(ns, "."); ok {
				ns = rest
			}
			param := ""
			if fe.Param() != "" {
				param = "=" + fe.Param()
			}
			return ns, fmt.Errorf("fails %q%s (value %v)", fe.Tag(), param, fe.Value())
		}
		return "", err
	}
	return "", nil
}
