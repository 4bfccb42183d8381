# R's equal-weight combination of ets, auto.arima and thetaf (the forecast
# package's building blocks of forecastHybrid's default "aet" hybrid) on the
# M3 yearly, other and quarterly series of ../shared/data/m3, for the
# combination rows of forecasting/EVALUATION.md:
#   taskset -c 0 Rscript forecasting/testdata/r/hybrid_m3.R ../shared/data/m3
# Prints mean sMAPE and MASE (over series and horizons) per category.
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/m3"
cats <- list(yearly = c(1, 6), other = c(1, 8), quarterly = c(4, 8))
for (cat in names(cats)) {
  freq <- cats[[cat]][1]; h <- cats[[cat]][2]
  tr <- read.csv(file.path(dir, sprintf("m3_%s_train.csv", cat)), stringsAsFactors = FALSE)
  te <- read.csv(file.path(dir, sprintf("m3_%s_test.csv", cat)), stringsAsFactors = FALSE)
  tr <- tr[order(tr$series_id, tr$t), ]; te <- te[order(te$series_id, te$t), ]
  ids <- unique(tr$series_id)
  ys <- split(tr$value, tr$series_id)[ids]
  xs <- split(te$value, te$series_id)[ids]
  acc <- sapply(seq_along(ids), function(i) {
    y <- ts(ys[[i]], frequency = freq); x <- xs[[i]][1:h]
    f <- (as.numeric(forecast(ets(y), h = h, PI = FALSE)$mean) +
          as.numeric(forecast(auto.arima(y), h = h)$mean) +
          as.numeric(thetaf(y, h = h)$mean)) / 3
    s <- mean(abs(diff(ys[[i]], lag = freq)))
    c(mean(200 * abs(x - f) / (abs(x) + abs(f))), mean(abs(x - f)) / s)
  })
  cat(sprintf("%-10s n=%4d  ets+auto.arima+thetaf (equal weights) sMAPE %6.3f MASE %6.3f\n", cat, length(ids), mean(acc[1, ]), mean(acc[2, ])))
}
