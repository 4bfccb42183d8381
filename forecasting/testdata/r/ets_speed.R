# Speed of R's automatic ETS on all M3 quarterly and yearly series (one core):
#   taskset -c 0 Rscript forecasting/testdata/r/ets_speed.R ../shared/data/m3
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/m3"
for (cat in c("quarterly", "yearly")) {
  freq <- if (cat == "quarterly") 4 else 1
  tr <- read.csv(file.path(dir, sprintf("m3_%s_train.csv", cat)), stringsAsFactors = FALSE)
  tr <- tr[order(tr$series_id, tr$t), ]
  ys <- lapply(split(tr$value, tr$series_id), ts, frequency = freq)
  tm <- system.time(for (y in ys) ets(y))
  cat(sprintf("%s: %d series, ets() elapsed %.2f s, user %.2f s\n", cat, length(ys), tm[["elapsed"]], tm[["user.self"]]))
}
