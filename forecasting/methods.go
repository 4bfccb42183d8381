package forecasting

// Pinnable returns the methods a planner may pin a node's forecasts to
// (plan.ModelPinned): every method Fit fits from its name alone. An
// ensemble needs its members, and Auto is the absence of a pin.
func Pinnable() []Method {
	return []Method{MethodETS, MethodARIMA, MethodTheta, MethodThetaClassic, MethodNaive, MethodSNaive,
		MethodDrift, MethodMean, MethodLinear, MethodCroston, MethodSBA, MethodTSB}
}
