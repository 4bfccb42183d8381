package fiscal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is returned (wrapped in a *ParseError) when text is not a period
// or span.
var ErrSyntax = errors.New("fiscal: invalid syntax")

// ErrRange is returned (wrapped in a *ParseError) when text is well formed
// but out of range: a month 13, a quarter 5, a year before 1 or after 9999.
var ErrRange = errors.New("fiscal: value out of range")

// ParseError reports which text could not be parsed and why.
type ParseError struct {
	Text   string // the text as given
	Reason string // what is wrong, for people
	Err    error  // ErrSyntax or ErrRange
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("fiscal: cannot parse %q: %s", e.Text, e.Reason)
}

func (e *ParseError) Unwrap() error { return e.Err }

// MinYear and MaxYear bound the calendar years a Period may fall in.
const (
	MinYear = 1
	MaxYear = 9999
)

// Period is one calendar month, counted as months since January of year 0.
// The zero value is not a valid period; use NewPeriod or ParsePeriod.
// Periods order and subtract as integers.
type Period int32

// NewPeriod returns the period of the given calendar year and month.
// It panics if year or month is out of range: that is a programmer error.
func NewPeriod(year int, month time.Month) Period {
	if year < MinYear || year > MaxYear || month < time.January || month > time.December {
		panic(fmt.Sprintf("fiscal.NewPeriod(%d, %d): out of range", year, month))
	}
	return Period(year*12 + int(month) - 1)
}

// PeriodOf returns the period containing t, in t's location.
func PeriodOf(t time.Time) Period { return NewPeriod(t.Year(), t.Month()) }

// Year returns the calendar year of p.
func (p Period) Year() int { return int(p) / 12 }

// Month returns the calendar month of p.
func (p Period) Month() time.Month { return time.Month(int(p)%12 + 1) }

// Add returns the period n months after p (before, when n is negative).
func (p Period) Add(n int) Period { return p + Period(n) }

// Valid reports whether p lies within MinYear and MaxYear.
func (p Period) Valid() bool {
	return p >= Period(MinYear*12) && p <= Period(MaxYear*12+11)
}

// Start returns the first instant of p in UTC.
func (p Period) Start() time.Time {
	return time.Date(p.Year(), p.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// String formats p as "YYYY-MM".
func (p Period) String() string {
	if !p.Valid() {
		return fmt.Sprintf("Period(%d)", int32(p))
	}
	return string(p.Append(make([]byte, 0, 7)))
}

// Append appends p formatted as String does to b, without fmt: target
// identifiers are built from periods by the tens of thousands per analysis.
func (p Period) Append(b []byte) []byte {
	if !p.Valid() {
		return fmt.Appendf(b, "Period(%d)", int32(p))
	}
	y, m := p.Year(), int(p.Month())
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-', byte('0'+m/10), byte('0'+m%10))
}

// MarshalText implements encoding.TextMarshaler.
func (p Period) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, fmt.Errorf("fiscal: cannot marshal invalid period %d", int32(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePeriod parses a calendar month written "YYYY-MM".
func ParsePeriod(s string) (Period, error) {
	y, rest, ok := strings.Cut(s, "-")
	if !ok || len(y) != 4 || len(rest) != 2 || !digits(y) || !digits(rest) {
		return 0, &ParseError{Text: s, Reason: `want a month written "YYYY-MM", e.g. "2027-03"`, Err: ErrSyntax}
	}
	year, _ := strconv.Atoi(y)
	month, _ := strconv.Atoi(rest)
	if year < MinYear {
		return 0, &ParseError{Text: s, Reason: fmt.Sprintf("year %d is before %04d", year, MinYear), Err: ErrRange}
	}
	if month < 1 || month > 12 {
		return 0, &ParseError{Text: s, Reason: fmt.Sprintf("month %d is not between 01 and 12", month), Err: ErrRange}
	}
	return NewPeriod(year, time.Month(month)), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
