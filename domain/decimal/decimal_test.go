package decimal

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseFormat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"}, {"12.30", "12.30"}, {"-0.05", "-0.05"}, {"+7", "7"}, {".5", "0.5"},
		{"120000000.00", "120000000.00"}, {"999999999999999999", "999999999999999999"},
		{"-000123.4500", "-123.4500"}, {"0.000000001", "0.000000001"},
	}
	for _, tt := range tests {
		d, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q) error %v", tt.in, err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrSyntax}, {"-", ErrSyntax}, {"1.", ErrSyntax}, {"1e5", ErrSyntax}, {"NaN", ErrSyntax},
		{"Inf", ErrSyntax}, {"1,000", ErrSyntax}, {"1.2.3", ErrSyntax}, {" 1", ErrSyntax},
		{"1.0000000001", ErrOverflow}, {"9999999999999999999", ErrOverflow},
	}
	for _, tt := range tests {
		if _, err := Parse(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("Parse(%q) error = %v, want %v", tt.in, err, tt.want)
		}
	}
}

func TestAddTiesToTheCent(t *testing.T) {
	// 0.10 added ten thousand times is exactly 1000.00.
	tenth := MustParse("0.10")
	var total Decimal
	for range 10000 {
		var err error
		if total, err = total.Add(tenth); err != nil {
			t.Fatal(err)
		}
	}
	if total.String() != "1000.00" {
		t.Errorf("sum = %v, want 1000.00", total)
	}
	s, err := Sum(MustParse("1.005"), MustParse("-2"), MustParse("0.5"))
	if err != nil || s.String() != "-0.495" {
		t.Errorf("Sum = %v, %v, want -0.495", s, err)
	}
}

func TestOverflow(t *testing.T) {
	big := New(9e18/1, 0)
	if _, err := big.Add(big); !errors.Is(err, ErrOverflow) {
		t.Errorf("Add overflow error = %v, want ErrOverflow", err)
	}
	if _, err := New(1e17, 0).Add(MustParse("0.01")); !errors.Is(err, ErrOverflow) {
		t.Errorf("rescale overflow error = %v, want ErrOverflow", err)
	}
}

func TestCmp(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.50", "1.5", 0}, {"1.49", "1.5", -1}, {"-1", "-2", 1}, {"100000000000000000", "0.000000001", 1},
	}
	for _, tt := range tests {
		if got := MustParse(tt.a).Cmp(MustParse(tt.b)); got != tt.want {
			t.Errorf("Cmp(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	var v struct {
		Amount Decimal `json:"amount"`
	}
	if err := json.Unmarshal([]byte(`{"amount":"1250.70"}`), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if string(b) != `{"amount":"1250.70"}` {
		t.Errorf("round trip = %s", b)
	}
	if err := json.Unmarshal([]byte(`{"amount":"1e3"}`), &v); !errors.Is(err, ErrSyntax) {
		t.Errorf("Unmarshal(1e3) error = %v, want ErrSyntax", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"0", "12.30", "-0.05", "1e5", "999999999999999999", "-.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrOverflow) {
				t.Fatalf("Parse(%q) error %v is neither ErrSyntax nor ErrOverflow", s, err)
			}
			return
		}
		back, err := Parse(d.String())
		if err != nil || back != d {
			t.Fatalf("Parse(String(Parse(%q))) = %v, %v, want %v", s, back, err, d)
		}
	})
}
