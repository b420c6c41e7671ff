package handlers_test

import (
	"os"
	"testing"

	"careway/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
