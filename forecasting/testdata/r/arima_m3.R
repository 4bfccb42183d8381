# R's forecast::auto.arima on the M3 yearly, quarterly and other series of
# ../shared/data/m3, for forecasting/EVALUATION.md and TestM3ARIMA.
# Usage (from the repository root):
#   taskset -c 0 Rscript forecasting/testdata/r/arima_m3.R ../shared/data/m3 /tmp/r_arima_m3.csv
# Writes one row per series (category, series_id, R's model as arima.string,
# sMAPE, MASE of the point forecast) and prints per-category means and the
# elapsed time of auto.arima() per category. MASE is scaled by the in-sample
# MAE of the seasonal naive forecast (period 1 yearly/other, 4 quarterly).
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/m3"
out <- if (length(args) >= 2) args[2] else ""
cats <- list(yearly = c(1, 6), quarterly = c(4, 8), other = c(1, 8))
rows <- list()
for (cat in names(cats)) {
  freq <- cats[[cat]][1]; h <- cats[[cat]][2]
  tr <- read.csv(file.path(dir, sprintf("m3_%s_train.csv", cat)), stringsAsFactors = FALSE)
  te <- read.csv(file.path(dir, sprintf("m3_%s_test.csv", cat)), stringsAsFactors = FALSE)
  tr <- tr[order(tr$series_id, tr$t), ]; te <- te[order(te$series_id, te$t), ]
  ids <- unique(tr$series_id)
  ys <- split(tr$value, tr$series_id)[ids]
  xs <- split(te$value, te$series_id)[ids]
  scale <- sapply(ys, function(y) mean(abs(diff(y, lag = freq))))
  acc <- function(f, x, s) c(smape = mean(200 * abs(x - f) / (abs(x) + abs(f))), mase = mean(abs(x - f)) / s)
  fits <- vector("list", length(ids))
  tm <- system.time(for (i in seq_along(ids)) fits[[i]] <- auto.arima(ts(ys[[i]], frequency = freq)))
  d <- do.call(rbind, lapply(seq_along(ids), function(i) {
    x <- xs[[i]][1:h]
    f <- as.numeric(forecast(fits[[i]], h = h)$mean)
    a <- acc(f, x, scale[i])
    data.frame(category = cat, series_id = ids[i], model = forecast:::arima.string(fits[[i]], padding = FALSE),
      smape = a[1], mase = a[2], loglik = fits[[i]]$loglik, aicc = fits[[i]]$aicc)
  }))
  rows[[cat]] <- d
  cat(sprintf("%-10s n=%4d  auto.arima sMAPE %6.3f MASE %6.3f | auto.arima() elapsed %.2f s, user %.2f s\n",
    cat, nrow(d), mean(d$smape), mean(d$mase), tm[["elapsed"]], tm[["user.self"]]))
}
if (out != "") write.csv(do.call(rbind, rows), out, row.names = FALSE)
