# Reference values for forecasting/boxcox_test.go (R 4.x, forecast 8.20):
#   Rscript forecasting/testdata/r/boxcox_reference.R
suppressMessages(library(forecast))
options(digits = 12)
show <- function(call, fc) {
  cat(sprintf("// R: %s\n", call))
  cat(sprintf("method %s\n", fc$method))
  cat("mean", format(as.numeric(fc$mean), digits = 12), "\n")
  cat("lo95", format(as.numeric(fc$lower[, 2]), digits = 12), "\n")
  cat("hi80", format(as.numeric(fc$upper[, 1]), digits = 12), "\n")
}
show("forecast(ets(AirPassengers, lambda = 0, biasadj = TRUE), h = 6)",
     forecast(ets(AirPassengers, lambda = 0, biasadj = TRUE), h = 6))
show("forecast(ets(UKgas, lambda = 0.3, biasadj = TRUE), h = 6)",
     forecast(ets(UKgas, lambda = 0.3, biasadj = TRUE), h = 6))
show("rwf(Nile, drift = TRUE, lambda = 0, biasadj = TRUE, h = 6)",
     rwf(Nile, drift = TRUE, lambda = 0, biasadj = TRUE, h = 6))
show("forecast(auto.arima(AirPassengers, lambda = 0, biasadj = TRUE), h = 6)",
     forecast(auto.arima(AirPassengers, lambda = 0, biasadj = TRUE), h = 6))
