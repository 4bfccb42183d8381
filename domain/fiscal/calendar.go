package fiscal

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Calendar derives fiscal quarters and years from periods. Its zero value is
// not usable; use NewCalendar.
type Calendar struct {
	start time.Month
}

// NewCalendar returns the calendar whose fiscal year begins in month start.
func NewCalendar(start time.Month) (Calendar, error) {
	if start < time.January || start > time.December {
		return Calendar{}, fmt.Errorf("fiscal: first month of the fiscal year must be 1..12, got %d", int(start))
	}
	return Calendar{start: start}, nil
}

// MustCalendar is NewCalendar for constants known to be valid; it panics on a
// bad month.
func MustCalendar(start time.Month) Calendar {
	c, err := NewCalendar(start)
	if err != nil {
		panic(err)
	}
	return c
}

// StartMonth returns the first month of the fiscal year.
func (c Calendar) StartMonth() time.Month { return c.start }

// offset is the number of months from the start of p's fiscal year to p.
func (c Calendar) offset(p Period) int {
	return ((int(p.Month())-int(c.start))%12 + 12) % 12
}

// Year returns the fiscal year p falls in, named after the calendar year in
// which that fiscal year ends.
func (c Calendar) Year(p Period) int {
	first := p.Add(-c.offset(p))
	return first.Add(11).Year()
}

// Quarter returns p's fiscal quarter, 1 to 4.
func (c Calendar) Quarter(p Period) int { return c.offset(p)/3 + 1 }

// MonthOfYear returns p's position in its fiscal year, 1 to 12.
func (c Calendar) MonthOfYear(p Period) int { return c.offset(p) + 1 }

// YearStart returns the first period of fiscal year fy.
func (c Calendar) YearStart(fy int) Period {
	// The fiscal year ends in calendar year fy, in the month before start.
	last := NewPeriod(fy, time.December)
	if c.start != time.January {
		last = Period(fy*12 + int(c.start) - 2)
	}
	return last.Add(-11)
}

// FiscalYear returns the span of fiscal year fy.
func (c Calendar) FiscalYear(fy int) Span {
	s := c.YearStart(fy)
	return Span{First: s, Last: s.Add(11), Kind: KindYear}
}

// FiscalQuarter returns the span of quarter q (1..4) of fiscal year fy.
func (c Calendar) FiscalQuarter(fy, q int) Span {
	s := c.YearStart(fy).Add(3 * (q - 1))
	return Span{First: s, Last: s.Add(2), Kind: KindQuarter}
}

// SpanKind says how a span was named.
type SpanKind uint8

// The kinds of span.
const (
	KindMonth   SpanKind = iota + 1 // one period
	KindQuarter                     // a fiscal quarter
	KindYear                        // a fiscal year
	KindRange                       // any run of consecutive periods
)

// Span is a run of consecutive periods, First to Last inclusive.
type Span struct {
	First, Last Period
	Kind        SpanKind
}

// Month returns the one-period span of p.
func Month(p Period) Span { return Span{First: p, Last: p, Kind: KindMonth} }

// Len returns the number of periods in s.
func (s Span) Len() int { return int(s.Last-s.First) + 1 }

// Contains reports whether p lies in s.
func (s Span) Contains(p Period) bool { return p >= s.First && p <= s.Last }

// Overlaps reports whether s and o share a period.
func (s Span) Overlaps(o Span) bool { return s.First <= o.Last && o.First <= s.Last }

// Covers reports whether every period of o lies in s.
func (s Span) Covers(o Span) bool { return s.First <= o.First && o.Last <= s.Last }

// Periods returns the periods of s in order.
func (s Span) Periods() []Period {
	out := make([]Period, 0, s.Len())
	for p := s.First; p <= s.Last; p++ {
		out = append(out, p)
	}
	return out
}

// Valid reports whether s is a well-formed span.
func (s Span) Valid() bool {
	return s.First.Valid() && s.Last.Valid() && s.First <= s.Last && s.Kind >= KindMonth && s.Kind <= KindRange
}

// Format writes s in the calendar's notation: "2027-03", "FY2027-Q2",
// "FY2027", or "2027-01..2027-06" for other ranges.
func (c Calendar) Format(s Span) string {
	switch s.Kind {
	case KindMonth:
		return s.First.String()
	case KindQuarter:
		return fmt.Sprintf("FY%04d-Q%d", c.Year(s.First), c.Quarter(s.First))
	case KindYear:
		return fmt.Sprintf("FY%04d", c.Year(s.First))
	default:
		return s.First.String() + ".." + s.Last.String()
	}
}

// ParseSpan parses "YYYY-MM" (a month), "FYyyyy" (a fiscal year),
// "FYyyyy-Qn" (a fiscal quarter) or "YYYY-MM..YYYY-MM" (a range).
func (c Calendar) ParseSpan(text string) (Span, error) {
	if c.start == 0 {
		panic("fiscal: zero Calendar; use NewCalendar")
	}
	s := strings.TrimSpace(text)
	if from, to, ok := strings.Cut(s, ".."); ok {
		a, err := ParsePeriod(from)
		if err != nil {
			return Span{}, &ParseError{Text: text, Reason: "range start: " + err.(*ParseError).Reason, Err: ErrSyntax}
		}
		b, err := ParsePeriod(to)
		if err != nil {
			return Span{}, &ParseError{Text: text, Reason: "range end: " + err.(*ParseError).Reason, Err: ErrSyntax}
		}
		if b < a {
			return Span{}, &ParseError{Text: text, Reason: "range ends before it starts", Err: ErrRange}
		}
		kind := KindRange
		if a == b {
			kind = KindMonth
		}
		return Span{First: a, Last: b, Kind: kind}, nil
	}
	if !strings.HasPrefix(s, "FY") {
		p, err := ParsePeriod(s)
		if err != nil {
			return Span{}, &ParseError{Text: text, Reason: `want "YYYY-MM", "FYyyyy", "FYyyyy-Qn" or "YYYY-MM..YYYY-MM"`, Err: ErrSyntax}
		}
		return Month(p), nil
	}
	yText, qText, hasQ := strings.Cut(s[2:], "-")
	if len(yText) != 4 || !digits(yText) {
		return Span{}, &ParseError{Text: text, Reason: `fiscal year must be four digits, e.g. "FY2027"`, Err: ErrSyntax}
	}
	fy, _ := strconv.Atoi(yText)
	if fy <= MinYear || fy > MaxYear {
		return Span{}, &ParseError{Text: text, Reason: fmt.Sprintf("fiscal year %d is out of range", fy), Err: ErrRange}
	}
	if !hasQ {
		return c.FiscalYear(fy), nil
	}
	if len(qText) != 2 || qText[0] != 'Q' || !digits(qText[1:]) {
		return Span{}, &ParseError{Text: text, Reason: `quarter must be written "Q1" to "Q4", e.g. "FY2027-Q2"`, Err: ErrSyntax}
	}
	q := int(qText[1] - '0')
	if q < 1 || q > 4 {
		return Span{}, &ParseError{Text: text, Reason: fmt.Sprintf("quarter %d is not between 1 and 4", q), Err: ErrRange}
	}
	return c.FiscalQuarter(fy, q), nil
}

// MarshalJSON writes the calendar as its first month number.
func (c Calendar) MarshalJSON() ([]byte, error) { return json.Marshal(int(c.start)) }

// UnmarshalJSON reads a calendar written by MarshalJSON.
func (c *Calendar) UnmarshalJSON(b []byte) error {
	var m int
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("fiscal: calendar: %w", err)
	}
	v, err := NewCalendar(time.Month(m))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

var kindNames = [...]string{KindMonth: "month", KindQuarter: "quarter", KindYear: "year", KindRange: "range"}

// String returns "month", "quarter", "year" or "range".
func (k SpanKind) String() string {
	if k < KindMonth || k > KindRange {
		return fmt.Sprintf("SpanKind(%d)", uint8(k))
	}
	return kindNames[k]
}

// MarshalText implements encoding.TextMarshaler.
func (k SpanKind) MarshalText() ([]byte, error) {
	if k < KindMonth || k > KindRange {
		return nil, fmt.Errorf("fiscal: invalid span kind %d", uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *SpanKind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = SpanKind(i)
			return nil
		}
	}
	return fmt.Errorf("fiscal: unknown span kind %q (want month, quarter, year or range)", b)
}

// spanJSON is the stored form of a Span: explicit periods, so that reading
// it back never depends on a calendar.
type spanJSON struct {
	First Period   `json:"first"`
	Last  Period   `json:"last"`
	Kind  SpanKind `json:"kind"`
}

// MarshalJSON writes s as {"first":"2026-04","last":"2026-06","kind":"quarter"}.
func (s Span) MarshalJSON() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("fiscal: cannot marshal invalid span %v..%v", s.First, s.Last)
	}
	return json.Marshal(spanJSON(s))
}

// spanText reads b when it is exactly what MarshalJSON writes,
// {"first":"2026-04","last":"2026-06","kind":"quarter"}, without the
// general JSON decoder (a log holds a span in most of its events); any
// other spelling reports false and is left to encoding/json.
func spanText(b []byte) (spanJSON, bool) {
	var v spanJSON
	const first, last, kind = `{"first":"`, `","last":"`, `","kind":"`
	const month = len("2026-04")
	if len(b) < len(first)+month+len(last)+month+len(kind)+2 ||
		string(b[:len(first)]) != first ||
		string(b[len(first)+month:len(first)+month+len(last)]) != last {
		return v, false
	}
	rest := b[len(first)+month+len(last)+month:]
	if string(rest[:len(kind)]) != kind || string(rest[len(rest)-2:]) != `"}` {
		return v, false
	}
	if v.First.UnmarshalText(b[len(first):len(first)+month]) != nil ||
		v.Last.UnmarshalText(b[len(first)+month+len(last):len(first)+month+len(last)+month]) != nil ||
		v.Kind.UnmarshalText(rest[len(kind):len(rest)-2]) != nil {
		return v, false
	}
	return v, true
}

// UnmarshalJSON reads a span written by MarshalJSON and checks it.
func (s *Span) UnmarshalJSON(b []byte) error {
	v, ok := spanText(b)
	if !ok {
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("fiscal: span: %w", err)
		}
	}
	sp := Span(v)
	if !sp.Valid() {
		return fmt.Errorf("fiscal: span %v..%v is not a valid %v", v.First, v.Last, v.Kind)
	}
	*s = sp
	return nil
}
