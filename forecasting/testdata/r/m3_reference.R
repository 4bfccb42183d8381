# Reference values for forecasting/reference_test.go on chosen M3 series.
# Usage: Rscript forecasting/testdata/r/m3_reference.R ../shared/data/m3   (forecast 8.20)
suppressMessages(library(forecast))
options(digits = 12)
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/m3"
pick <- list(yearly = c("N0001", "N0100", "N0500"), quarterly = c("N0646", "N0700", "N1000", "N1300"), other = c("N2830", "N3000"))
freq <- c(yearly = 1, quarterly = 4, other = 1)
for (cat in names(pick)) {
  tr <- read.csv(file.path(dir, sprintf("m3_%s_train.csv", cat)), stringsAsFactors = FALSE)
  for (id in pick[[cat]]) {
    d <- tr[tr$series_id == id, ]; d <- d[order(d$t), ]
    y <- ts(d$value, frequency = freq[[cat]])
    fit <- ets(y); fc <- forecast(fit, h = 4)
    th <- thetaf(y, h = 4)
    cat(sprintf('{id: "%s", cat: "%s", model: "%s", loglik: %.10g, aicc: %.10g,\n', id, cat, fit$method, fit$loglik, fit$aicc))
    cat(sprintf('  mean: []float64{%s}, lo95: []float64{%s}, hi80: []float64{%s},\n',
      paste(sprintf("%.10g", fc$mean), collapse = ", "), paste(sprintf("%.10g", fc$lower[, 2]), collapse = ", "), paste(sprintf("%.10g", fc$upper[, 1]), collapse = ", ")))
    cat(sprintf('  theta: []float64{%s}, thetaLo95: []float64{%s}},\n',
      paste(sprintf("%.10g", th$mean), collapse = ", "), paste(sprintf("%.10g", th$lower[, 2]), collapse = ", ")))
  }
}
