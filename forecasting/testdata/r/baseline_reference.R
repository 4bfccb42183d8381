# Reference values for forecasting/reference_test.go (classic series, forecast 8.20).
# Usage: Rscript forecasting/testdata/r/baseline_reference.R
suppressMessages(library(forecast))
p <- function(label, fc) cat(sprintf('%s: mean {%s} lo95 {%s} hi80 {%s}\n', label,
  paste(sprintf("%.10g", head(fc$mean, 4)), collapse = ", "), paste(sprintf("%.10g", head(fc$lower[, 2], 4)), collapse = ", "),
  paste(sprintf("%.10g", head(fc$upper[, 1], 4)), collapse = ", ")))
p("thetaf(AirPassengers, h=4)", thetaf(AirPassengers, h = 4))
p("thetaf(USAccDeaths, h=4)", thetaf(USAccDeaths, h = 4))
p("thetaf(Nile, h=4)", thetaf(Nile, h = 4))
p("naive(Nile, h=4)", naive(Nile, h = 4))
p("snaive(USAccDeaths, h=14)", snaive(USAccDeaths, h = 14))
p("rwf(Nile, h=4, drift=TRUE)", rwf(Nile, h = 4, drift = TRUE))
p("meanf(Nile, h=4)", meanf(Nile, h = 4))
p("forecast(tslm(USAccDeaths ~ trend + season), h=4)", forecast(tslm(USAccDeaths ~ trend + season), h = 4))
