package view

import (
	"bytes"
	"encoding/gob"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// columnsProbe has long and short columns at several depths, beside
// values gob writes whole (time.Time), strings and a pointer.
type columnsProbe struct {
	Name  string
	When  time.Time
	Short []uint32
	Long  []uint64
	Rows  []columnsRow
	Marks markColumns
	Ptr   *columnsRow // not entered: its long column stays in the value
	Empty []int64
}

type columnsRow struct {
	Label string
	Flags []bool
	Coef  []int64
}

// TestLongColumns: a value whose columns pass longColumn (one of them
// past two chunks) is written with those columns apart, each chunk a
// message under gob's 10 MB, and read back equal, into columns allocated
// once; the value written is left as it was. A damaged list of long
// columns is refused with what is wrong.
func TestLongColumns(t *testing.T) {
	n := 2*columnChunk + 7
	long := make([]uint64, n)
	for i := range long {
		long[i] = uint64(i) * 0x9E3779B97F4A7C15 // values that take all of a varint's 9 bytes
	}
	flags, coef := make([]bool, longColumn+1), make([]int64, longColumn+1)
	for i := range flags {
		flags[i], coef[i] = i%3 == 0, int64(-i)
	}
	marks := markColumns{Commit: make([]uint64, 5000), Prepare: []int64{1, 2}, UpTo: make([]int64, longColumn), Changes: make([]bool, 5000)}
	in := &columnsProbe{Name: "probe", When: time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC), Short: []uint32{1, 2, 3}, Long: long,
		Rows: []columnsRow{{Label: "a", Flags: flags, Coef: []int64{5}}, {Label: "b", Coef: coef}}, Marks: marks,
		Ptr: &columnsRow{Coef: slices.Clone(coef)}}
	var buf bytes.Buffer
	if err := encodeColumns(gob.NewEncoder(&buf), in); err != nil {
		t.Fatal(err)
	}
	if len(in.Long) != n || len(in.Rows[0].Flags) != len(flags) || len(in.Marks.Commit) != 5000 {
		t.Fatal("encodeColumns left the value without its long columns")
	}
	// Each gob message starts with its length: none may pass 10 MB.
	var k int
	var count int
	for b := buf.Bytes(); len(b) > 0; k++ {
		size, w := gobUint(b)
		if size > 10<<20 {
			t.Errorf("message %d is %d bytes, over gob's 10 MB", k, size)
		}
		b = b[w+int(size):]
		count++
	}
	// the value's types and value, the list's type and value, then the
	// chunks: 3 of Long, 1 each of Flags, Coef, Commit, Changes and UpTo is
	// not long (exactly longColumn).
	if want := 3 + 5; count < want {
		t.Errorf("%d gob messages, want at least %d (the long columns apart)", count, want)
	}
	var out columnsProbe
	if err := decodeColumns(gob.NewDecoder(bytes.NewReader(buf.Bytes())), &out, buf.Len()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&out, in) {
		t.Fatal("the value read back differs from the one written")
	}
	if cap(out.Long) != n {
		t.Errorf("the long column was allocated with capacity %d, want its length %d", cap(out.Long), n)
	}

	for name, c := range map[string]struct {
		long longColumns
		want string
	}{
		"out of range": {longColumns{At: []int{99}, Len: []int{5000}}, "ordinal 99"},
		"out of order": {longColumns{At: []int{2, 1}, Len: []int{5000, 5000}}, "out of order"},
		"too long":     {longColumns{At: []int{1}, Len: []int{1 << 40}}, "elements in a section"},
		"lengths":      {longColumns{At: []int{1}}, "1 ordinals, 0 lengths"},
		"inline too":   {longColumns{At: []int{0}, Len: []int{5000}}, "also written"},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			enc := gob.NewEncoder(&b)
			if err := enc.Encode(&columnsProbe{Short: []uint32{1}}); err != nil {
				t.Fatal(err)
			}
			if err := enc.Encode(c.long); err != nil {
				t.Fatal(err)
			}
			var got columnsProbe
			err := decodeColumns(gob.NewDecoder(&b), &got, 1<<20)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one saying %q", err, c.want)
			}
		})
	}
}

// gobUint reads the unsigned integer gob writes at the start of b and
// returns it with its width.
func gobUint(b []byte) (uint64, int) {
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	var x uint64
	for _, c := range b[1 : 1+n] {
		x = x<<8 | uint64(c)
	}
	return x, 1 + n
}
