// Package decimal is the exact fixed-point number Concord records amounts in:
// actuals and targets keep the decimal that was entered, and sums of
// recorded values tie to the cent.
//
// A Decimal is a coefficient and a scale (value = coefficient × 10^-scale),
// both kept as entered, so "12.30" stays "12.30". The coefficient is an int64
// and the scale at most MaxScale; arithmetic that would overflow returns
// ErrOverflow rather than wrapping or losing digits. Decimals are values and
// safe for concurrent use.
package decimal
