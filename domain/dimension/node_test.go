package dimension

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unsafe"
)

func TestParseNode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"region=emea", "region=emea"},
		{"region=emea;product=pumps", "product=pumps;region=emea"},
		{"segment=smb;bu=industrial;region=de", "bu=industrial;region=de;segment=smb"},
	}
	for _, tt := range tests {
		n, err := ParseNode(tt.in)
		if err != nil || n.String() != tt.want {
			t.Errorf("ParseNode(%q) = %q, %v, want %q", tt.in, n, err, tt.want)
		}
	}
	for _, bad := range []string{"region", "region=", "=emea", "region=emea;", ";", "region=emea;region=de", "region=e mea", "re gion=emea", "a=b=c", " region=emea"} {
		if n, err := ParseNode(bad); !errors.Is(err, ErrNodeSyntax) {
			t.Errorf("ParseNode(%q) = %q, %v, want ErrNodeSyntax", bad, n, err)
		}
	}
}

func TestNodeAccessors(t *testing.T) {
	n := MustParseNode("region=emea;product=pumps")
	if m, ok := n.Member("region"); !ok || m != "emea" {
		t.Errorf("Member(region) = %q, %v", m, ok)
	}
	if m, ok := n.Member("segment"); ok {
		t.Errorf("Member(segment) = %q, true, want absent", m)
	}
	if m, ok := n.Member("product"); !ok || m != "pumps" {
		t.Errorf("Member(product) = %q, %v", m, ok)
	}
	if m, ok := Total.Member("region"); ok {
		t.Errorf("Total.Member(region) = %q, true, want absent", m)
	}
	w, err := n.With("region", "de")
	if err != nil || w.String() != "product=pumps;region=de" {
		t.Errorf("With(region, de) = %q, %v", w, err)
	}
	if got := n.Without("product").String(); got != "region=emea" {
		t.Errorf("Without(product) = %q", got)
	}
	if _, err := n.With("bu", "no good"); !errors.Is(err, ErrNodeSyntax) {
		t.Errorf("With(bu, %q) error = %v, want ErrNodeSyntax", "no good", err)
	}
	if !Total.IsTotal() || n.IsTotal() || len(Total.Coords()) != 0 {
		t.Error("IsTotal or Coords of the total is wrong")
	}
	if a, b := MustNode(Coord{"region", "emea"}, Coord{"product", "pumps"}), n; a != b {
		t.Errorf("nodes of the same coordinates differ: %q, %q", a, b)
	}
}

func TestNodeJSON(t *testing.T) {
	type doc struct {
		Node  Node           `json:"node"`
		Total Node           `json:"total"`
		ByKey map[Node]int64 `json:"by_key"`
	}
	in := doc{Node: MustParseNode("region=emea;product=pumps"), ByKey: map[Node]int64{MustParseNode("region=de"): 3}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"node":"product=pumps;region=emea","total":"","by_key":{"region=de":3}}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var back doc
	if err := json.Unmarshal(b, &back); err != nil || back.Node != in.Node || back.Total != Total || back.ByKey[MustParseNode("region=de")] != 3 {
		t.Errorf("Unmarshal(%s) = %+v, %v", b, back, err)
	}
	if err := json.Unmarshal([]byte(`{"node":"region"}`), &back); !errors.Is(err, ErrNodeSyntax) {
		t.Errorf("Unmarshal of a bad node: error %v, want ErrNodeSyntax", err)
	}
}

// dims returns Region (world > emea > {de, fr}, amer retired) and Product
// (all > pumps > {p1, p2}) and Segment (only its root, "any").
func dims() (region, product, segment *Dimension) {
	region = given(
		Defined{ID: "region", Name: "Region", RootID: "world", RootName: "World"},
		MemberAdded{ID: "emea", Name: "EMEA", Parent: "world"},
		MemberAdded{ID: "de", Name: "Germany", Parent: "emea"},
		MemberAdded{ID: "fr", Name: "France", Parent: "emea"},
		MemberAdded{ID: "amer", Name: "Americas", Parent: "world"},
		MemberRetired{ID: "amer"},
	)
	product = given(
		Defined{ID: "product", Name: "Product", RootID: "all", RootName: "All"},
		MemberAdded{ID: "pumps", Name: "Pumps", Parent: "all"},
		MemberAdded{ID: "p1", Name: "P1", Parent: "pumps"},
		MemberAdded{ID: "p2", Name: "P2", Parent: "pumps"},
	)
	segment = given(Defined{ID: "segment", Name: "Segment", RootID: "any", RootName: "Any"})
	return
}

func TestResolve(t *testing.T) {
	region, product, segment := dims()
	tests := []struct {
		in, want string
		wantErr  []error
	}{
		{in: "", want: ""},
		{in: "region=emea", want: "region=emea"},
		{in: "region=world;product=pumps", want: "product=pumps"},
		{in: "segment=any", want: ""},
		{in: "bu=x", wantErr: []error{ErrUnknownDimension}},
		{in: "region=apac;product=p9", wantErr: []error{ErrUnknownMember}},
		{in: "region=amer", wantErr: []error{ErrRetired}},
		{in: "bu=x;region=amer", wantErr: []error{ErrUnknownDimension, ErrRetired}},
	}
	for _, tt := range tests {
		got, err := MustParseNode(tt.in).Resolve(region, product, segment)
		for _, want := range tt.wantErr {
			if !errors.Is(err, want) {
				t.Errorf("Resolve(%q) error = %v, want %v", tt.in, err, want)
			}
		}
		if tt.wantErr == nil && (err != nil || got.String() != tt.want) {
			t.Errorf("Resolve(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckCell(t *testing.T) {
	region, product, segment := dims()
	tests := []struct {
		in      string
		wantErr []error
		naming  string // a member the error must mention
	}{
		{in: "region=de;product=p1"},
		{in: "region=fr;product=p2;segment=any"},
		{in: "region=emea;product=p1", wantErr: []error{ErrNotLeaf}, naming: `"emea" has children (de, fr); name one of the leaves below it, e.g. region=de, region=fr`},
		{in: "region=de", wantErr: []error{ErrNotLeaf}, naming: `it names none of dimension "product"; add one of its leaves, e.g. product=p1, product=p2`},
		{in: "region=amer;product=p1", wantErr: []error{ErrRetired}},
		{in: "region=de;product=p1;bu=x", wantErr: []error{ErrUnknownDimension}},
		{in: "region=xx;product=pumps", wantErr: []error{ErrUnknownMember, ErrNotLeaf}},
	}
	for _, tt := range tests {
		err := MustParseNode(tt.in).CheckCell(region, product, segment)
		for _, want := range tt.wantErr {
			if !errors.Is(err, want) {
				t.Errorf("CheckCell(%q) error = %v, want %v", tt.in, err, want)
			}
		}
		if tt.wantErr == nil && err != nil {
			t.Errorf("CheckCell(%q) error = %v, want nil", tt.in, err)
		}
		if tt.naming != "" && (err == nil || !strings.Contains(err.Error(), tt.naming)) {
			t.Errorf("CheckCell(%q) error = %v, does not name %s", tt.in, err, tt.naming)
		}
	}
}

func TestContains(t *testing.T) {
	region, product, segment := dims()
	cell := MustParseNode("region=de;product=p1")
	tests := []struct {
		node string
		want bool
	}{
		{"", true},
		{"region=emea", true},
		{"region=world;product=pumps", true},
		{"region=de;product=p1", true},
		{"region=fr", false},
		{"product=p2", false},
		{"segment=any", true},
		{"bu=x", false},
		{"region=nowhere", false},
	}
	for _, tt := range tests {
		if got := MustParseNode(tt.node).Contains(cell, region, product, segment); got != tt.want {
			t.Errorf("Node(%q).Contains(%q) = %v, want %v", tt.node, cell, got, tt.want)
		}
	}
}

func FuzzParseNode(f *testing.F) {
	for _, s := range []string{"", "region=emea", "b=1;a=2", "a=b;a=c", ";", "=", "a=", "x=y;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := ParseNode(in)
		if err != nil {
			if !errors.Is(err, ErrNodeSyntax) {
				t.Fatalf("ParseNode(%q) error %v does not match ErrNodeSyntax", in, err)
			}
			return
		}
		again, err := ParseNode(n.String())
		if err != nil || again != n {
			t.Fatalf("ParseNode(String(ParseNode(%q))) = %q, %v, want %q", in, again, err, n)
		}
		if back := MustNode(n.Coords()...); back != n {
			t.Fatalf("MustNode(Coords(%q)) = %q", n, back)
		}
	})
}

// TestUnmarshalNodeShares checks that decoding takes canonical text as it
// is, canonicalises any other spelling, rejects what ParseNode rejects
// (also after a valid node was read), and shares the text of equal nodes.
func TestUnmarshalNodeShares(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"product=pumps;region=emea"`, "product=pumps;region=emea"},
		{`"region=emea;product=pumps"`, "product=pumps;region=emea"},
		{`"region=emea;product=pumps"`, "product=pumps;region=emea"},
		{`""`, ""},
	} {
		var n Node
		if err := json.Unmarshal([]byte(tt.in), &n); err != nil || n.String() != tt.want {
			t.Errorf("Unmarshal(%s) = %q, %v; want %q", tt.in, n.String(), err, tt.want)
		}
	}
	for _, bad := range []string{`"region=emea;region=apac"`, `"region"`, `"b=x;a=y;a=z"`, `";"`} {
		var n Node
		if err := json.Unmarshal([]byte(bad), &n); !errors.Is(err, ErrNodeSyntax) {
			t.Errorf("Unmarshal(%s) = %q, %v; want ErrNodeSyntax", bad, n.String(), err)
		}
	}
	var a, b Node
	if err := a.UnmarshalText([]byte("bu=x;region=y")); err != nil {
		t.Fatal(err)
	}
	if err := b.UnmarshalText([]byte("bu=x;region=y")); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(a.key) != unsafe.StringData(b.key) {
		t.Error("two decodings of one node keep two copies of its text")
	}
}
