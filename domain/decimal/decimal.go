package decimal

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// MaxScale is the most digits a Decimal keeps after the point.
const MaxScale = 9

// ErrSyntax is returned (wrapped) when text is not a decimal number.
var ErrSyntax = errors.New("decimal: invalid syntax")

// ErrOverflow is returned (wrapped) when a value or the result of an
// operation does not fit: more than 18 significant digits, or more than
// MaxScale digits after the point.
var ErrOverflow = errors.New("decimal: out of range")

// Decimal is an exact decimal number. The zero value is 0.
type Decimal struct {
	coef  int64
	scale uint8
}

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// New returns coef × 10^-scale. It panics if scale exceeds MaxScale.
func New(coef int64, scale int) Decimal {
	if scale < 0 || scale > MaxScale {
		panic(fmt.Sprintf("decimal.New: scale %d out of 0..%d", scale, MaxScale))
	}
	return Decimal{coef: coef, scale: uint8(scale)}
}

// FromInt returns the integer n.
func FromInt(n int64) Decimal { return Decimal{coef: n} }

// Parse reads a decimal written with an optional sign, digits and an optional
// fractional part: "120", "-3.50", "+0.125". Exponents, thousands separators,
// NaN and infinities are rejected.
func Parse(s string) (Decimal, error) {
	if s == "" {
		return Decimal{}, fmt.Errorf("%w: empty string", ErrSyntax)
	}
	body := s
	neg := false
	switch body[0] {
	case '-':
		neg = true
		body = body[1:]
	case '+':
		body = body[1:]
	}
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if (intPart == "" && frac == "") || (hasPoint && frac == "") || !allDigits(intPart) || !allDigits(frac) {
		return Decimal{}, fmt.Errorf("%w: %q is not a decimal number (want digits with an optional '.' and fraction, e.g. 1250.75)", ErrSyntax, s)
	}
	if len(frac) > MaxScale {
		return Decimal{}, fmt.Errorf("%w: %q has %d digits after the point, at most %d are kept", ErrOverflow, s, len(frac), MaxScale)
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if len(digits) > 18 {
		return Decimal{}, fmt.Errorf("%w: %q has more than 18 significant digits", ErrOverflow, s)
	}
	var coef int64
	if digits != "" {
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return Decimal{}, fmt.Errorf("%w: %q", ErrOverflow, s)
		}
		coef = v
	}
	if neg {
		coef = -coef
	}
	return Decimal{coef: coef, scale: uint8(len(frac))}, nil
}

// MustParse is Parse for constants; it panics on error.
func MustParse(s string) Decimal {
	d, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Scale returns the number of digits after the point.
func (d Decimal) Scale() int { return int(d.scale) }

// Coef returns the coefficient: d is Coef() × 10^-Scale(), and
// New(d.Coef(), d.Scale()) is d.
func (d Decimal) Coef() int64 { return d.coef }

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int {
	switch {
	case d.coef < 0:
		return -1
	case d.coef > 0:
		return 1
	}
	return 0
}

// IsZero reports whether d equals zero, at any scale.
func (d Decimal) IsZero() bool { return d.coef == 0 }

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{coef: -d.coef, scale: d.scale} }

// rescale returns d's coefficient at scale s ≥ d.scale.
func (d Decimal) rescale(s uint8) (int64, bool) {
	if s == d.scale {
		return d.coef, true
	}
	m := pow10[s-d.scale]
	hi, lo := bits.Mul64(uint64(abs(d.coef)), uint64(m))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if d.coef < 0 {
		return -int64(lo), true
	}
	return int64(lo), true
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// Add returns d + e at the larger of their scales, or ErrOverflow.
func (d Decimal) Add(e Decimal) (Decimal, error) {
	s := max(d.scale, e.scale)
	a, ok1 := d.rescale(s)
	b, ok2 := e.rescale(s)
	sum := a + b
	if !ok1 || !ok2 || (a > 0 && b > 0 && sum < 0) || (a < 0 && b < 0 && sum >= 0) {
		return Decimal{}, fmt.Errorf("%w: %v + %v", ErrOverflow, d, e)
	}
	return Decimal{coef: sum, scale: s}, nil
}

// Sub returns d - e at the larger of their scales, or ErrOverflow.
func (d Decimal) Sub(e Decimal) (Decimal, error) { return d.Add(e.Neg()) }

// Cmp compares d and e by value: -1 if d < e, 0 if equal, +1 if d > e.
func (d Decimal) Cmp(e Decimal) int {
	s := max(d.scale, e.scale)
	a, ok1 := d.rescale(s)
	b, ok2 := e.rescale(s)
	if !ok1 || !ok2 { // magnitudes so different that the larger-scale one rescales out of range
		return cmpFloat(d.Float64(), e.Float64())
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Equal reports whether d and e have the same value ("1.50" equals "1.5").
func (d Decimal) Equal(e Decimal) bool { return d.Cmp(e) == 0 }

// Float64 returns the nearest float64 to d.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// String formats d with exactly its scale: "12.30", "-0.05", "120".
func (d Decimal) String() string {
	neg := d.coef < 0
	u := uint64(d.coef)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	if d.scale > 0 {
		if len(digits) <= int(d.scale) {
			digits = strings.Repeat("0", int(d.scale)-len(digits)+1) + digits
		}
		cut := len(digits) - int(d.scale)
		digits = digits[:cut] + "." + digits[cut:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// MarshalText implements encoding.TextMarshaler; JSON carries decimals as
// strings so no float ever touches them.
func (d Decimal) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// GobEncode implements gob.GobEncoder: gob carries a decimal as its
// text too (read-model snapshots, package projections/view).
func (d Decimal) GobEncode() ([]byte, error) { return d.MarshalText() }

// GobDecode implements gob.GobDecoder with UnmarshalText.
func (d *Decimal) GobDecode(b []byte) error { return d.UnmarshalText(b) }

// Sum adds values exactly, at the largest scale among them.
func Sum(values ...Decimal) (Decimal, error) {
	var total Decimal
	for _, v := range values {
		var err error
		if total, err = total.Add(v); err != nil {
			return Decimal{}, err
		}
	}
	return total, nil
}
