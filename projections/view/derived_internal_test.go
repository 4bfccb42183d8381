package view

import (
	"reflect"
	"slices"
	"testing"

	"github.com/concord-planning/concord/domain/plan"
)

func TestCombineDerived(t *testing.T) {
	v := func(f float64) value { return value{f, true} }
	l := rowFigures{target: v(30), actual: v(12), le: v(45), p2t: v(40), commit: v(9)}
	r := rowFigures{target: v(100), actual: v(0), le: v(90), p2t: v(80), commit: v(0)}
	tests := []struct {
		op            plan.Operator
		want          rowFigures
		wantUndefined []string
	}{
		{plan.OpRatio, rowFigures{target: v(30), le: v(50), p2t: v(50)}, []string{"actual", "commit"}},
		{plan.OpSum, rowFigures{target: v(130), actual: v(12), le: v(135), p2t: v(120), commit: v(9)}, nil},
		{plan.OpDifference, rowFigures{target: v(-70), actual: v(12), le: v(-45), p2t: v(-40), commit: v(9)}, nil},
	}
	for _, tt := range tests {
		got := combine(tt.op, l, r)
		undefined := got.undefined
		got.undefined = nil
		if !reflect.DeepEqual(got, tt.want) || !slices.Equal(undefined, tt.wantUndefined) {
			t.Errorf("combine(%q) = %+v, undefined %v; want %+v, undefined %v", tt.op, got, undefined, tt.want, tt.wantUndefined)
		}
	}
}
