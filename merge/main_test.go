package merge

import (
	"testing"

	"github.com/idfusion/idfusion/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }
