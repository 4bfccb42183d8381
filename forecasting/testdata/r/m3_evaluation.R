# R's figures for forecasting/EVALUATION.md: forecast::ets and forecast::thetaf
# on the M3 yearly, quarterly and other series of ../shared/data/m3.
# Usage (from the repository root):
#   taskset -c 0 Rscript forecasting/testdata/r/m3_evaluation.R ../shared/data/m3 [out.csv]
# Prints mean sMAPE and MASE (over series and horizons) per category and method,
# and the elapsed time of automatic ETS per category. MASE is scaled by the
# in-sample MAE of the seasonal naive forecast (period 1 yearly/other, 4 quarterly).
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
  tm <- system.time(for (i in seq_along(ids)) fits[[i]] <- ets(ts(ys[[i]], frequency = freq)))
  for (i in seq_along(ids)) {
    x <- xs[[i]][1:h]
    fe <- as.numeric(forecast(fits[[i]], h = h, PI = FALSE)$mean)
    ft <- as.numeric(thetaf(ts(ys[[i]], frequency = freq), h = h)$mean)
    ae <- acc(fe, x, scale[i]); at <- acc(ft, x, scale[i])
    rows[[length(rows) + 1]] <- data.frame(category = cat, series_id = ids[i], ets_model = fits[[i]]$method,
      ets_smape = ae[1], ets_mase = ae[2], theta_smape = at[1], theta_mase = at[2])
  }
  d <- do.call(rbind, rows[sapply(rows, function(r) r$category == cat)])
  cat(sprintf("%-10s n=%4d  ETS sMAPE %6.3f MASE %6.3f | Theta sMAPE %6.3f MASE %6.3f | ets() elapsed %.2f s\n",
    cat, nrow(d), mean(d$ets_smape), mean(d$ets_mase), mean(d$theta_smape), mean(d$theta_mase), tm[["elapsed"]]))
}
if (out != "") write.csv(do.call(rbind, rows), out, row.names = FALSE)
