package fiscal

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCalendarYearAndQuarter(t *testing.T) {
	tests := []struct {
		start         time.Month
		period        string
		year, quarter int
		monthOfYear   int
	}{
		{time.January, "2027-01", 2027, 1, 1},
		{time.January, "2027-12", 2027, 4, 12},
		{time.April, "2026-04", 2027, 1, 1},
		{time.April, "2027-03", 2027, 4, 12},
		{time.April, "2027-04", 2028, 1, 1},
		{time.October, "2026-10", 2027, 1, 1},
		{time.October, "2027-09", 2027, 4, 12},
		{time.July, "2027-01", 2027, 3, 7},
	}
	for _, tt := range tests {
		c := MustCalendar(tt.start)
		p, err := ParsePeriod(tt.period)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Year(p); got != tt.year {
			t.Errorf("start %v: Year(%v) = %d, want %d", tt.start, p, got, tt.year)
		}
		if got := c.Quarter(p); got != tt.quarter {
			t.Errorf("start %v: Quarter(%v) = %d, want %d", tt.start, p, got, tt.quarter)
		}
		if got := c.MonthOfYear(p); got != tt.monthOfYear {
			t.Errorf("start %v: MonthOfYear(%v) = %d, want %d", tt.start, p, got, tt.monthOfYear)
		}
		fy := c.FiscalYear(tt.year)
		if !fy.Contains(p) || fy.Len() != 12 {
			t.Errorf("start %v: FiscalYear(%d) = %v..%v does not hold %v", tt.start, tt.year, fy.First, fy.Last, p)
		}
		q := c.FiscalQuarter(tt.year, tt.quarter)
		if !q.Contains(p) || q.Len() != 3 {
			t.Errorf("start %v: FiscalQuarter(%d, %d) = %v..%v does not hold %v", tt.start, tt.year, tt.quarter, q.First, q.Last, p)
		}
	}
}

func TestParseSpan(t *testing.T) {
	c := MustCalendar(time.April)
	tests := []struct {
		in          string
		first, last string
		kind        SpanKind
		format      string
	}{
		{"2027-03", "2027-03", "2027-03", KindMonth, "2027-03"},
		{"FY2027", "2026-04", "2027-03", KindYear, "FY2027"},
		{"FY2027-Q2", "2026-07", "2026-09", KindQuarter, "FY2027-Q2"},
		{"FY2027-Q4", "2027-01", "2027-03", KindQuarter, "FY2027-Q4"},
		{"2027-01..2027-06", "2027-01", "2027-06", KindRange, "2027-01..2027-06"},
		{" FY2028 ", "2027-04", "2028-03", KindYear, "FY2028"},
	}
	for _, tt := range tests {
		s, err := c.ParseSpan(tt.in)
		if err != nil {
			t.Errorf("ParseSpan(%q) error %v", tt.in, err)
			continue
		}
		if s.First.String() != tt.first || s.Last.String() != tt.last || s.Kind != tt.kind {
			t.Errorf("ParseSpan(%q) = %v..%v %v, want %s..%s %v", tt.in, s.First, s.Last, s.Kind, tt.first, tt.last, tt.kind)
		}
		if got := c.Format(s); got != tt.format {
			t.Errorf("Format(ParseSpan(%q)) = %q, want %q", tt.in, got, tt.format)
		}
	}
}

func TestParseErrors(t *testing.T) {
	c := MustCalendar(time.January)
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrSyntax},
		{"2027", ErrSyntax},
		{"2027-3", ErrSyntax},
		{"2027-13", ErrSyntax}, // via ParseSpan, a bad month is reported as not a span
		{"FY27", ErrSyntax},
		{"FY2027-Q5", ErrRange},
		{"FY2027-H1", ErrSyntax},
		{"2027-06..2027-01", ErrRange},
		{"0000-01", ErrSyntax},
	}
	for _, tt := range tests {
		_, err := c.ParseSpan(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("ParseSpan(%q) error = %v, want %v", tt.in, err, tt.want)
		}
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || pe.Text != tt.in) {
			t.Errorf("ParseSpan(%q) error %v does not carry the text", tt.in, err)
		}
	}
	if _, err := ParsePeriod("2027-13"); !errors.Is(err, ErrRange) {
		t.Errorf("ParsePeriod(2027-13) error = %v, want ErrRange", err)
	}
	if _, err := NewCalendar(13); err == nil {
		t.Error("NewCalendar(13) succeeded, want error")
	}
}

func TestSpanJSONRoundTrip(t *testing.T) {
	c := MustCalendar(time.July)
	s := c.FiscalQuarter(2027, 3)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"first":"2027-01","last":"2027-03","kind":"quarter"}` {
		t.Errorf("Marshal = %s", b)
	}
	var back Span
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("Unmarshal(%s) = %v, %v, want %v", b, back, err, s)
	}
	if err := json.Unmarshal([]byte(`{"first":"2027-03","last":"2027-01","kind":"range"}`), &back); err == nil {
		t.Error("Unmarshal of a reversed span succeeded")
	}
}

func FuzzParseSpan(f *testing.F) {
	for _, s := range []string{"2027-03", "FY2027", "FY2027-Q2", "2027-01..2027-06", "", "FY", "..", "9999-12"} {
		f.Add(s, uint8(4))
	}
	f.Fuzz(func(t *testing.T, in string, start uint8) {
		c, err := NewCalendar(time.Month(start%12 + 1))
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.ParseSpan(in)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseSpan(%q) error %v is not a *ParseError", in, err)
			}
			return
		}
		if !s.Valid() {
			t.Fatalf("ParseSpan(%q) = invalid span %+v", in, s)
		}
		again, err := c.ParseSpan(c.Format(s))
		if err != nil || again != s {
			t.Fatalf("ParseSpan(Format(ParseSpan(%q))) = %+v, %v, want %+v", in, again, err, s)
		}
	})
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2027-03", "0001-01", "9999-12", "2027-00", "-001-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePeriod(in)
		if err != nil {
			return
		}
		if !p.Valid() || p.String() != in {
			t.Fatalf("ParsePeriod(%q) = %v, does not format back", in, p)
		}
	})
}

// TestSpanJSONSpellings checks that a span reads the same whether its
// text is exactly what MarshalJSON writes (read without encoding/json) or
// spelled otherwise, and that invalid spans are refused either way.
func TestSpanJSONSpellings(t *testing.T) {
	want := Span{First: NewPeriod(2026, time.April), Last: NewPeriod(2026, time.June), Kind: KindQuarter}
	for _, in := range []string{
		`{"first":"2026-04","last":"2026-06","kind":"quarter"}`,
		`{"kind":"quarter","first":"2026-04","last":"2026-06"}`,
		`{ "first": "2026-04", "last": "2026-06", "kind": "quarter" }`,
		`{"first":"2026-04","last":"2026-06","kind":"\u0071uarter"}`,
	} {
		var s Span
		if err := json.Unmarshal([]byte(in), &s); err != nil || s != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, s, err, want)
		}
	}
	for _, in := range []string{
		`{"first":"2026-07","last":"2026-06","kind":"quarter"}`,
		`{"first":"2026-13","last":"2026-06","kind":"quarter"}`,
		`{"first":"2026-04","last":"2026-06","kind":"season"}`,
		`{"first":"2026-04","last":"2026-06","kind":"quarter"`,
	} {
		var s Span
		if err := json.Unmarshal([]byte(in), &s); err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, s)
		}
	}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := spanText(b); !ok || Span(v) != want {
		t.Errorf("spanText(%s) = %v, %v; want %v read without encoding/json", b, v, ok, want)
	}
}

// TestPeriodString checks the formatting of every valid period, and of
// invalid ones, against fmt and parses each back.
func TestPeriodString(t *testing.T) {
	for p := Period(MinYear * 12); p <= Period(MaxYear*12+11); p++ {
		want := fmt.Sprintf("%04d-%02d", p.Year(), int(p.Month()))
		if got := p.String(); got != want {
			t.Fatalf("Period(%d).String() = %q, want %q", int32(p), got, want)
		}
		if back, err := ParsePeriod(want); err != nil || back != p {
			t.Fatalf("ParsePeriod(%q) = %v, %v, want %d", want, back, err, int32(p))
		}
	}
	for _, p := range []Period{MinYear*12 - 1, MaxYear*12 + 12, -5} {
		if got, want := p.String(), fmt.Sprintf("Period(%d)", int32(p)); got != want {
			t.Errorf("String of invalid period = %q, want %q", got, want)
		}
	}
	if got := string(NewPeriod(2027, time.March).Append([]byte("at "))); got != "at 2027-03" {
		t.Errorf("Append = %q, want %q", got, "at 2027-03")
	}
}
