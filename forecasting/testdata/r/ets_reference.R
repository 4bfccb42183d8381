# Reference values for forecasting/ets_test.go and theta_test.go.
# Run: Rscript forecasting/testdata/r/ets_reference.R  (forecast 8.20)
suppressMessages(library(forecast))
options(digits = 12)
show <- function(label, y) {
  fit <- ets(y)
  fc <- forecast(fit, h = 2 * frequency(y) + (frequency(y) == 1) * 6, level = c(80, 95))
  cat(label, fit$method, "\n")
  cat("  loglik", fit$loglik, "aicc", fit$aicc, "sigma2", fit$sigma2, "\n")
  cat("  par", names(fit$par), "\n  ", fit$par, "\n")
  cat("  mean", head(fc$mean, 4), "\n")
  cat("  lo95", head(fc$lower[, 2], 4), "\n")
  cat("  hi80", head(fc$upper[, 1], 4), "\n")
}
show("AirPassengers", AirPassengers)
show("USAccDeaths", USAccDeaths)
show("WWWusage", WWWusage)
show("Nile", Nile)
show("UKgas_q", UKgas)
