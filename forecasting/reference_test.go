package forecasting

import (
	"math"
	"testing"
)

// Reference values from R 4.x, forecast 8.20. Scripts: testdata/r/ets_reference.R,
// testdata/r/m3_reference.R, testdata/r/baseline_reference.R.

func closeRel(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func checkSlice(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if i >= len(got) || !closeRel(got[i], want[i], tol) {
			t.Errorf("%s = %v, want %v (rel. tol %g)", what, got, want, tol)
			return
		}
	}
}

type etsRef struct {
	call, model      string
	y                []float64
	m                int
	loglik, aicc     float64
	mean, lo95, hi80 []float64
	tolFit, tolFc    float64
}

// TestETSClassicReference pins ETS selection, likelihood, AICc, forecasts
// and intervals against R on classic series (always on: data embedded).
func TestETSClassicReference(t *testing.T) {
	cases := []etsRef{
		// R: fit <- ets(AirPassengers); fit$method; fit$loglik; fit$aicc; fc <- forecast(fit, h=4); fc$mean; fc$lower[,2]; fc$upper[,1]
		{call: "ets(AirPassengers)", model: "ETS(M,Ad,M)", y: airpassengers, m: 12, loglik: -679.583216237, aicc: 1400.63843247,
			mean: []float64{441.801847278, 434.118620069, 496.630046777, 483.237479446},
			lo95: []float64{407.886278423, 392.899387562, 441.571354579, 422.649329246},
			hi80: []float64{463.978045773, 461.070427534, 532.630990539, 522.853941459}},
		// R: fit <- ets(USAccDeaths)  # same accessors as above
		{call: "ets(USAccDeaths)", model: "ETS(A,N,A)", y: usaccdeaths, m: 12, loglik: -555.072335013, aicc: 1148.7160986,
			mean: []float64{8397.49690923, 7599.22061344, 8396.59468674, 8646.50970321},
			lo95: []float64{7823.83364365, 6931.81150555, 7647.07464544, 7823.02584342},
			hi80: []float64{8772.5951569, 8035.61597266, 8886.67949948, 9184.95685736}},
		// R: fit <- ets(WWWusage)
		{call: "ets(WWWusage)", model: "ETS(A,Ad,N)", y: wwwusage, m: 1, loglik: -352.865490198, aicc: 718.634206202,
			mean: []float64{218.366334922, 217.035068661, 215.950142534, 215.065973277},
			lo95: []float64{211.513636163, 202.851820759, 193.845844003, 184.816248908},
			hi80: []float64{222.847073798, 226.308995986, 230.403366476, 234.8452049}},
		// R: fit <- ets(Nile)
		{call: "ets(Nile)", model: "ETS(M,N,N)", y: nile, m: 1, loglik: -726.150957803, aicc: 1458.55191561,
			mean: []float64{838.875161323, 838.875161323, 838.875161323, 838.875161323},
			lo95: []float64{584.390180994, 581.420857515, 578.483789194, 575.577895743},
			hi80: []float64{1005.27394595, 1007.21548222, 1009.13592797, 1011.03598957}},
		// R: fit <- ets(UKgas)
		{call: "ets(UKgas)", model: "ETS(M,A,M)", y: ukgas, m: 4, loglik: -618.360779733, aicc: 1256.55829416,
			mean: []float64{1258.82361822, 652.617833264, 357.200953108, 878.954063042},
			lo95: []float64{970.845919215, 503.050163496, 275.019239131, 675.402998058},
			hi80: []float64{1447.12211447, 750.414875893, 410.93668756, 1012.04895053}},
	}
	for _, c := range cases {
		t.Run(c.call, func(t *testing.T) {
			checkETS(t, c, c.y, 1e-6, 1e-6)
		})
	}
}

func checkETS(t *testing.T, c etsRef, y []float64, tolFit, tolFc float64) {
	t.Helper()
	md, err := Fit(y, c.m, Spec{Method: MethodETS})
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	d := md.Description()
	if d.Name != c.model {
		t.Fatalf("%s: model = %s, want %s", c.call, d.Name, c.model)
	}
	if !closeRel(d.LogLik, c.loglik, tolFit) || !closeRel(d.AICc, c.aicc, tolFit) {
		t.Errorf("%s: loglik, aicc = %.10g, %.10g, want %.10g, %.10g", c.call, d.LogLik, d.AICc, c.loglik, c.aicc)
	}
	fc, err := md.Forecast(len(c.mean), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSlice(t, c.call+" mean", fc.Mean, c.mean, tolFc)
	lo95, _ := fc.Interval(95)
	hi80, _ := fc.Interval(80)
	checkSlice(t, c.call+" lower 95", lo95.Lower, c.lo95, tolFc)
	checkSlice(t, c.call+" upper 80", hi80.Upper, c.hi80, tolFc)
}

type m3Ref struct {
	id, cat, model   string
	loglik, aicc     float64
	mean, lo95, hi80 []float64
	theta, thetaLo95 []float64
}

// TestM3Reference pins ETS and Theta against R on M3 series by id (needs
// ../shared/data). For every series:
//
//	R: y <- ts(train$value, frequency = f)   # f = 1 yearly/other, 4 quarterly
//	R: fit <- ets(y); fit$method; fit$loglik; fit$aicc
//	R: fc <- forecast(fit, h = 4); fc$mean; fc$lower[, 2]; fc$upper[, 1]
//	R: th <- thetaf(y, h = 4); th$mean; th$lower[, 2]
func TestM3Reference(t *testing.T) {
	refs := []m3Ref{
		{id: "N0001", cat: "yearly", model: "ETS(M,A,N)", loglik: -81.38571504, aicc: 180.2714301,
			mean: []float64{5486.428978, 6035.864978, 6585.300977, 7134.736977}, lo95: []float64{4984.162147, 4893.098298, 4629.134995, 4199.745165}, hi80: []float64{5814.843606, 6783.079946, 7864.369163, 9053.824971},
			theta: []float64{5085.069837, 5233.189782, 5381.309727, 5529.429672}, thetaLo95: []float64{4398.948616, 4262.916367, 4192.992147, 4157.29016}},
		{id: "N0100", cat: "yearly", model: "ETS(M,N,N)", loglik: -94.85037604, aicc: 198.1007521,
			mean: []float64{2528.558426, 2528.558426, 2528.558426, 2528.558426}, lo95: []float64{1893.16066, 1641.837637, 1444.732289, 1275.946692}, hi80: []float64{2944.022694, 3108.353986, 3237.234245, 3347.597216},
			theta: []float64{2512.170786, 2544.694742, 2577.218698, 2609.742654}, thetaLo95: []float64{1960.002464, 1837.81989, 1743.879476, 1666.749303}},
		{id: "N0500", cat: "yearly", model: "ETS(M,Ad,N)", loglik: -131.0038772, aicc: 281.0077545,
			mean: []float64{7333.283076, 7619.67955, 7848.796827, 8032.090726}, lo95: []float64{6651.441249, 6217.764041, 5655.169812, 5011.70565}, hi80: []float64{7779.115484, 8536.34283, 9283.132436, 10007.01437},
			theta: []float64{7034.299492, 7092.48743, 7150.675369, 7208.863307}, thetaLo95: []float64{6100.345411, 5771.742953, 5533.12731, 5341.095262}},
		{id: "N0646", cat: "quarterly", model: "ETS(A,N,N)", loglik: -266.3693441, aicc: 539.4886882,
			mean: []float64{5511.546998, 5511.546998, 5511.546998, 5511.546998}, lo95: []float64{4962.109908, 4734.564564, 4559.957649, 4412.755445}, hi80: []float64{5870.804602, 6019.588505, 6133.75783, 6230.008177},
			theta: []float64{5465.782102, 5483.738721, 5466.267282, 5710.208335}, thetaLo95: []float64{4929.828858, 4725.82431, 4538.030983, 4638.382323}},
		{id: "N0700", cat: "quarterly", model: "ETS(M,N,N)", loglik: -281.3480961, aicc: 569.4461922,
			mean: []float64{5624.977012, 5624.977012, 5624.977012, 5624.977012}, lo95: []float64{4858.640268, 4539.959644, 4294.524657, 4086.858645}, hi80: []float64{6126.057675, 6334.431735, 6494.913047, 6630.698554},
			theta: []float64{5605.604929, 5586.23527, 5566.865611, 5547.495952}, thetaLo95: []float64{4676.394888, 4272.19958, 3957.533984, 3689.215354}},
		{id: "N1000", cat: "quarterly", model: "ETS(A,A,N)", loglik: -308.8137863, aicc: 629.2065199,
			mean: []float64{6778.267733, 6836.827603, 6895.387473, 6953.947343}, lo95: []float64{6432.079895, 6436.109596, 6446.702951, 6461.936509}, hi80: []float64{7004.627794, 7098.843024, 7188.766513, 7275.655936},
			theta: []float64{6721.975395, 6832.873296, 6829.71354, 6848.166348}, thetaLo95: []float64{6360.452963, 6355.572253, 6259.683626, 6198.511117}},
		{id: "N1300", cat: "quarterly", model: "ETS(M,N,N)", loglik: -224.2075197, aicc: 455.3039282,
			mean: []float64{4820.288197, 4820.288197, 4820.288197, 4820.288197}, lo95: []float64{4286.63585, 4065.026025, 3894.562405, 3750.508026}, hi80: []float64{5169.22471, 5314.127587, 5425.587757, 5519.779853},
			theta: []float64{4841.283348, 4862.276457, 4883.269565, 4904.262674}, thetaLo95: []float64{4325.430025, 4132.786182, 3989.844991, 3872.633439}},
		{id: "N2830", cat: "other", model: "ETS(A,N,N)", loglik: -688.7111572, aicc: 1383.683184,
			mean: []float64{4542.510476, 4542.510476, 4542.510476, 4542.510476}, lo95: []float64{4278.667732, 4169.399256, 4085.552084, 4014.864799}, hi80: []float64{4715.027974, 4786.47479, 4841.299509, 4887.519441},
			theta: []float64{4550.577631, 4558.643982, 4566.710332, 4574.776683}, thetaLo95: []float64{4286.734922, 4185.532702, 4109.751824, 4047.130845}},
		{id: "N3000", cat: "other", model: "ETS(M,Ad,N)", loglik: -376.364704, aicc: 766.2294081,
			mean: []float64{1607.512106, 1581.707842, 1556.569745, 1532.080617}, lo95: []float64{1553.134223, 1505.415152, 1463.858701, 1425.85018}, hi80: []float64{1643.067892, 1631.592951, 1617.190239, 1601.540967},
			theta: []float64{1602.540797, 1571.081839, 1539.622882, 1508.163924}, thetaLo95: []float64{1413.676485, 1304.000726, 1212.522112, 1130.463638}},
	}
	data := map[string][]m3Series{}
	for _, c := range m3Categories {
		data[c.name] = loadM3(t, c.name)
	}
	freq := map[string]int{"yearly": 1, "quarterly": 4, "other": 1}
	for _, r := range refs {
		t.Run(r.id, func(t *testing.T) {
			var y []float64
			for _, s := range data[r.cat] {
				if s.id == r.id {
					y = s.train
				}
			}
			if y == nil {
				t.Fatalf("series %s not found", r.id)
			}
			c := etsRef{call: "ets(" + r.id + ")", model: r.model, m: freq[r.cat], loglik: r.loglik, aicc: r.aicc,
				mean: r.mean, lo95: r.lo95, hi80: r.hi80}
			checkETS(t, c, y, 1e-6, 1e-6)
			th, err := Fit(y, freq[r.cat], Spec{Method: MethodTheta})
			if err != nil {
				t.Fatal(err)
			}
			fc, _ := th.Forecast(4, []float64{95})
			checkSlice(t, "thetaf("+r.id+") mean", fc.Mean, r.theta, 1e-6)
			checkSlice(t, "thetaf("+r.id+") lower 95", fc.Intervals[0].Lower, r.thetaLo95, 1e-6)
		})
	}
}

// TestBaselineReference pins Theta on classic series and the baselines
// against R (always on).
func TestBaselineReference(t *testing.T) {
	cases := []struct {
		call             string
		y                []float64
		m                int
		method           Method
		mean, lo95, hi80 []float64
	}{
		// R: thetaf(AirPassengers, h=4); $mean; $lower[,2]; $upper[,1]
		{"thetaf(AirPassengers, h=4)", airpassengers, 12, MethodTheta, []float64{440.0781911, 428.3842806, 489.7070987, 475.7046277}, []float64{418.9967186, 400.8826245, 457.0229482, 438.5540382}, []float64{453.862625, 446.3666469, 511.078116, 499.9960924}},
		// R: thetaf(USAccDeaths, h=4); $mean; $lower[,2]; $upper[,1]
		{"thetaf(USAccDeaths, h=4)", usaccdeaths, 12, MethodTheta, []float64{8270.693806, 7508.923867, 8322.124807, 8554.143505}, []float64{7759.002181, 6924.524589, 7673.112701, 7846.392906}, []float64{8605.270977, 7891.042016, 8746.491013, 9016.916748}},
		// R: thetaf(Nile, h=4); $mean; $lower[,2]; $upper[,1]
		{"thetaf(Nile, h=4)", nile, 1, MethodTheta, []float64{799.8119962, 798.4548435, 797.0976908, 795.7405381}, []float64{517.1229426, 507.3602132, 497.8334822, 488.5239219}, []float64{984.6524331, 988.7913916, 992.776039, 996.6186861}},
		// R: naive(Nile, h=4); $mean; $lower[,2]; $upper[,1]
		{"naive(Nile, h=4)", nile, 1, MethodNaive, []float64{740, 740, 740, 740}, []float64{412.0497307, 276.2082814, 171.9734712, 84.09946138}, []float64{954.4351551, 1043.257105, 1111.412584, 1168.87031}},
		// R: snaive(USAccDeaths, h=14); $mean; $lower[,2]; $upper[,1]
		{"snaive(USAccDeaths, h=14)", usaccdeaths, 12, MethodSNaive, []float64{7836, 6892, 7791, 8192}, []float64{6739.585654, 5795.585654, 6694.585654, 7095.585654}, []float64{8552.906807, 7608.906807, 8507.906807, 8908.906807}},
		// R: rwf(Nile, h=4, drift=TRUE); $mean; $lower[,2]; $upper[,1]
		{"rwf(Nile, h=4, drift=TRUE)", nile, 1, MethodDrift, []float64{736.1616162, 732.3232323, 728.4848485, 724.6464646}, []float64{404.9689936, 261.6100738, 149.1343734, 52.39886187}, []float64{952.7168321, 1040.106023, 1107.301763, 1164.205546}},
		// R: meanf(Nile, h=4); $mean; $lower[,2]; $upper[,1]
		{"meanf(Nile, h=4)", nile, 1, MethodMean, []float64{919.35, 919.35, 919.35, 919.35}, []float64{581.8911806, 581.8911806, 581.8911806, 581.8911806}, []float64{1138.769735, 1138.769735, 1138.769735, 1138.769735}},
		// R: forecast(tslm(USAccDeaths ~ trend + season), h=4); $mean; $lower[,2]; $upper[,1]
		{"forecast(tslm(USAccDeaths ~ trend + season), h=4)", usaccdeaths, 12, MethodLinear, []float64{7557.275, 6797.108333, 7575.608333, 7788.608333}, []float64{6569.565328, 5809.398662, 6587.898662, 6800.898662}, []float64{8197.024929, 7436.858263, 8215.358263, 8428.358263}},
	}
	for _, c := range cases {
		t.Run(c.call, func(t *testing.T) {
			md, err := Fit(c.y, c.m, Spec{Method: c.method})
			if err != nil {
				t.Fatal(err)
			}
			fc, err := md.Forecast(4, nil)
			if err != nil {
				t.Fatal(err)
			}
			lo95, _ := fc.Interval(95)
			hi80, _ := fc.Interval(80)
			checkSlice(t, c.call+" mean", fc.Mean, c.mean, 1e-6)
			checkSlice(t, c.call+" lower 95", lo95.Lower, c.lo95, 1e-6)
			checkSlice(t, c.call+" upper 80", hi80.Upper, c.hi80, 1e-6)
		})
	}
}
