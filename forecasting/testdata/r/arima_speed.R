# Speed of R's auto.arima on all M3 quarterly series (one core), the
# yardstick for BenchmarkAutoARIMA:
#   taskset -c 0 Rscript forecasting/testdata/r/arima_speed.R ../shared/data/m3
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/m3"
tr <- read.csv(file.path(dir, "m3_quarterly_train.csv"), stringsAsFactors = FALSE)
tr <- tr[order(tr$series_id, tr$t), ]
ys <- lapply(split(tr$value, tr$series_id), ts, frequency = 4)
tm <- system.time(for (y in ys) auto.arima(y))
cat(sprintf("quarterly: %d series, auto.arima() elapsed %.2f s, user %.2f s\n", length(ys), tm[["elapsed"]], tm[["user.self"]]))
