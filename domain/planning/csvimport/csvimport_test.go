package csvimport_test

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
)

func TestReadActuals(t *testing.T) {
	in := "\ufeffCell, Metric ,period,AMOUNT\n" +
		"region=de;product=pumps, revenue ,2027-02,1250.75\n" +
		"\n" +
		"\"region=fr;\nproduct=pumps\",revenue,2027-02,3\n" +
		"region=us;product=pumps,revenue,2027-02\n" +
		"region=us;product=valves,revenue,2027-02,4\n"
	rows, bad, err := csvimport.ReadActuals(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []planning.ActualRow{
		{Line: 2, Cell: "region=de;product=pumps", Metric: "revenue", Period: "2027-02", Amount: "1250.75"},
		{Line: 7, Cell: "region=us;product=valves", Metric: "revenue", Period: "2027-02", Amount: "4"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("ReadActuals rows = %+v, want %+v", rows, want)
	}
	wantBad := []planning.Problem{
		{Row: 4, Field: "cell", Value: "region=fr;\nproduct=pumps", Reason: "holds the control character U+000A at byte 10"}, // a line break is no part of a cell
		{Row: 6, Reason: "3 fields, the header names 4"},
	}
	if !reflect.DeepEqual(bad, wantBad) {
		t.Errorf("ReadActuals problems = %+v, want %+v", bad, wantBad)
	}
}

func TestReadTargets(t *testing.T) {
	in := "op,node,metric,span,reason,amount\nset,region=emea,revenue,FY2027,budget,100\nclear,,revenue,FY2027-Q1,gone,\n"
	rows, bad, err := csvimport.ReadTargets(strings.NewReader(in), 0)
	if err != nil || len(bad) != 0 {
		t.Fatalf("ReadTargets: %v, %v", bad, err)
	}
	want := []planning.TargetChange{
		{Line: 2, Op: planning.OpSet, Node: "region=emea", Metric: "revenue", Span: "FY2027", Reason: "budget", Amount: "100"},
		{Line: 3, Op: planning.OpClear, Metric: "revenue", Span: "FY2027-Q1", Reason: "gone"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("ReadTargets = %+v, want %+v", rows, want)
	}
	// amount is optional.
	if _, _, err := csvimport.ReadTargets(strings.NewReader("op,node,metric,span,reason\n"), 0); err != nil {
		t.Errorf("ReadTargets without amount: %v", err)
	}
}

func TestReadRefusesFiles(t *testing.T) {
	for _, c := range []struct {
		name, in   string
		detail     string
		wantFields []string // the problems' fields, in order
		wantLine   int      // of the first problem, when there is one
	}{
		{"empty", "", "the CSV upload is empty; its first line names the columns: cell,metric,period,amount", nil, 0},
		{"unknown column", "cell,metric,period,amount,actor\n", "the CSV header is not right", []string{"actor"}, 1},
		{"missing column", "cell,metric,amount\n", "the CSV header is not right", []string{"period"}, 1},
		{"twice", "cell,metric,period,amount,Cell\n", "the CSV header is not right", []string{"cell"}, 1},
		{"bad quoting", "cell,metric,period,amount\na,b,c,d\n\"x\"y,1,2,3\n", "malformed CSV at line 3: extraneous or missing \" in quoted-field", []string{""}, 3},
		{"bad header", "cell,metric\"x\n", "malformed CSV header: parse error on line 1, column 12: bare \" in non-quoted-field", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := csvimport.ReadActuals(strings.NewReader(c.in), 0)
			var fe *csvimport.FormatError
			if !errors.As(err, &fe) || !errors.Is(err, csvimport.ErrFormat) {
				t.Fatalf("ReadActuals(%q) error = %v, want a *FormatError", c.in, err)
			}
			if fe.Detail != c.detail {
				t.Errorf("Detail = %q, want %q", fe.Detail, c.detail)
			}
			var fields []string
			for _, p := range fe.Problems {
				fields = append(fields, p.Field)
			}
			if !reflect.DeepEqual(fields, c.wantFields) {
				t.Errorf("problem fields = %q, want %q", fields, c.wantFields)
			}
			if len(fe.Problems) > 0 && fe.Problems[0].Row != c.wantLine {
				t.Errorf("first problem at line %d, want %d", fe.Problems[0].Row, c.wantLine)
			}
		})
	}
}

// FuzzRead: no input panics; every row read has the header's width and a
// line after the header, every problem names a line, and a refusal is a
// *FormatError.
func FuzzRead(f *testing.F) {
	for _, s := range []string{"cell,metric,period,amount\na,b,c,d\n", "cell,metric\n", "\"", "cell,metric,period,amount\n\"x\ny\",1,2,3\nshort\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rows, bad, err := csvimport.ReadActuals(strings.NewReader(in), 0)
		if err != nil {
			if !errors.Is(err, csvimport.ErrFormat) {
				t.Fatalf("ReadActuals error %v is no *FormatError", err)
			}
			return
		}
		last := 1
		for _, r := range rows {
			if r.Line <= last {
				t.Fatalf("row %+v after line %d", r, last)
			}
			last = r.Line
		}
		for _, b := range bad {
			if b.Row < 2 || b.Reason == "" {
				t.Fatalf("problem %+v", b)
			}
		}
	})
}

// TestReadStopsAtTheRowLimit: a file longer than the limit is refused as
// soon as its row limit+1 is read, not after reading it all: the reader
// here would produce rows for ever.
func TestReadStopsAtTheRowLimit(t *testing.T) {
	for _, c := range []struct {
		name string
		row  string
		max  int
	}{
		{"empty rows", ",,,\n", 100},
		{"ragged rows", ",\n", 100},
		{"good rows", "region=de,revenue,2027-01,1\n", 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := io.MultiReader(strings.NewReader("cell,metric,period,amount\n"), &endless{row: c.row})
			_, _, err := csvimport.ReadActuals(r, c.max)
			if !errors.Is(err, planning.ErrTooManyRows) {
				t.Fatalf("ReadActuals(endless %q, %d) error = %v, want planning.ErrTooManyRows", c.row, c.max, err)
			}
			want := fmt.Sprintf("more than %d rows (line %d is row %d)", c.max, c.max+2, c.max+1)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ReadActuals error %q, want it to say %q", err, want)
			}
		})
	}
	// At the limit, the file is read.
	in := "cell,metric,period,amount\n" + strings.Repeat("a,b,c,d\n", 5)
	if rows, _, err := csvimport.ReadActuals(strings.NewReader(in), 5); err != nil || len(rows) != 5 {
		t.Errorf("ReadActuals(5 rows, max 5) = %d rows, %v; want 5 rows", len(rows), err)
	}
}

// endless yields row for ever.
type endless struct {
	row string
	off int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], e.row[e.off:])
		n += c
		e.off = (e.off + c) % len(e.row)
	}
	return n, nil
}

// TestReadRefusesControlCharacters: every field is text; a control
// character or invalid UTF-8 is a problem naming the line and the column.
func TestReadRefusesControlCharacters(t *testing.T) {
	in := "op,node,metric,span,reason,amount\n" +
		"set,region=emea,revenue,FY2027,\"two\nlines\",1\n" +
		"set,region=emea\x00,revenue,FY2027,ok,1\n" +
		"set,region=emea,revenue,FY2027,bad \xff byte,1\n" +
		"set,region=emea,revenue,FY2027,fine,2\n"
	rows, bad, err := csvimport.ReadTargets(strings.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []planning.Problem{
		{Row: 2, Field: "reason", Value: "two\nlines", Reason: "holds the control character U+000A at byte 3"},
		{Row: 4, Field: "node", Value: "region=emea\x00", Reason: "holds the control character U+0000 at byte 11"},
		{Row: 5, Field: "reason", Value: "bad \xff byte", Reason: "not valid UTF-8 (byte 4)"},
	}
	if !reflect.DeepEqual(bad, want) {
		t.Errorf("ReadTargets problems = %+v, want %+v", bad, want)
	}
	if len(rows) != 1 || rows[0].Line != 6 {
		t.Errorf("ReadTargets rows = %+v, want only line 6", rows)
	}
}
