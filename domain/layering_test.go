// Package domain_test guards the direction of dependencies: the domain core
// and the forecaster stay free of transport and storage technology.
package domain_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are import path prefixes the domain core and forecasting/ must
// not reach, directly or transitively.
var forbidden = []string{
	"github.com/labstack/echo",
	"github.com/ThreeDotsLabs/watermill",
	"github.com/EventStore/EventStore-Client-Go",
	"modernc.org/sqlite",
	"zombiezen.com/go/sqlite",
	"github.com/mattn/go-sqlite3",
	"github.com/nats-io/",
	"google.golang.org/grpc",
}

// forbiddenStd are standard packages that mean I/O the core must not do.
// (database/sql/driver is allowed: github.com/google/uuid implements its
// Valuer interface.)
var forbiddenStd = map[string]bool{"database/sql": true, "net/http": true}

// adapters may use their technology: they are named after it.
var adapters = []string{"/domain/eventstore/sqlite", "/domain/eventstore/esdb"}

func TestDomainAndForecastingImportNoTechnology(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Deps", "../domain/...", "../forecasting/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if isAdapter(p.ImportPath) {
			continue
		}
		checked++
		for _, d := range p.Deps {
			if forbiddenStd[d] {
				t.Errorf("%s depends on %s: the domain core and forecasting/ do no such I/O", p.ImportPath, d)
			}
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s: the domain core and forecasting/ must not reach %s", p.ImportPath, d, f)
				}
			}
		}
	}
	if checked < 3 {
		t.Fatalf("checked only %d packages: is go list seeing the tree?", checked)
	}
}

func isAdapter(path string) bool {
	for _, a := range adapters {
		if strings.Contains(path, a) {
			return true
		}
	}
	return false
}
