# Theta variants tried for forecasting/EVALUATION.md ("Classic Theta" section), on the
# M3 yearly, quarterly and other series of ../shared/data/m3, and the accuracy of the
# forecasts actually submitted to M3 by the Theta method (Mcomp's M3Forecast$THETA).
# Usage (from the repository root; R 4.x, forecast 8.20; the .rda is data/M3Forecast.rda
# of the Mcomp package, github.com/robjhyndman/Mcomp — optional):
#   Rscript forecasting/testdata/r/theta_variants_m3.R ../shared/data/m3 [M3Forecast.rda]
# Prints mean sMAPE and MASE (over series and horizons) per category and variant and,
# with the .rda, each variant's mean and median sMAPE distance to the submitted forecasts.
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[1] else "../shared/data/m3"
submitted <- NULL
if (length(args) >= 2) { load(args[2]); submitted <- as.matrix(M3Forecast$THETA) }

# Seasonal adjustment as thetaf and Assimakopoulos & Nikolopoulos (2000).
seasadj <- function(y) {
  m <- frequency(y); n <- length(y)
  if (m > 1 && n > 2 * m) {
    r <- as.numeric(acf(y, lag.max = m, plot = FALSE)$acf)[-1]
    if (abs(r[m]) / sqrt((1 + 2 * sum(r[-m]^2)) / n) > qnorm(0.95)) {
      s <- decompose(y, type = "multiplicative")$seasonal
      return(list(x = as.numeric(y / s), idx = function(h) rep(tail(s, m), ceiling(h / m))[1:h]))
    }
  }
  list(x = as.numeric(y), idx = function(h) rep(1, h))
}
# Two-line Theta: (theta=0 line + extrapolation of the theta=2 line) / 2.
twoLines <- function(extrap) function(x, h) {
  n <- length(x); tt <- 1:n; fit <- lm(x ~ tt)
  (coef(fit)[1] + coef(fit)[2] * (n + 1:h) + extrap(2 * x - fitted(fit), h)) / 2
}
sesFirst <- function(z, h) {   # SES from l0 = z[1], alpha minimising the one-step SSE
  sse <- function(a) { l <- z[1]; s <- 0; for (v in z) { s <- s + (v - l)^2; l <- l + a * (v - l) }; s }
  g <- seq(0, 1, by = 0.01); a0 <- g[which.min(sapply(g, sse))]
  a <- optimize(sse, c(max(0, a0 - 0.01), min(1, a0 + 0.01)))$minimum
  l <- z[1]; for (v in z) l <- l + a * (v - l); rep(l, h)
}
# Dynamic theta models (Fiorucci et al. 2016, IJF 32:1151, section 3): SES on the data
# plus (1 - 1/theta) times the recursively updated regression line; DSTM fixes theta = 2,
# DOTM estimates it (>= 1). l0, alpha in [0.1, 0.99] (and theta) minimise the SSE over
# t = 3..n by Nelder-Mead; forecasts feed the means back in.
dynTheta <- function(optTheta) function(x, h) {
  n <- length(x)
  path <- function(p, H) {
    a <- p[2]; th <- if (optTheta) p[3] else 2; yy <- c(x, numeric(H)); mu <- numeric(n + H)
    mu[1] <- x[1]; l <- a * x[1] + (1 - a) * p[1]; ybar <- x[1]; A <- x[1]; B <- 0
    for (t in 1:(n + H - 1)) {
      mu[t + 1] <- l + (1 - 1 / th) * (A * (1 - a)^t + B * (1 - (1 - a)^(t + 1)) / a)
      if (t + 1 > n) yy[t + 1] <- mu[t + 1]
      l <- a * yy[t + 1] + (1 - a) * l
      B <- ((t - 1) * B + 6 * (yy[t + 1] - ybar) / (t + 1)) / (t + 2)
      ybar <- (t * ybar + yy[t + 1]) / (t + 1)
      A <- ybar - B * (t + 2) / 2
    }
    mu
  }
  scale <- mean(abs(x))
  obj <- function(p) {
    if (p[2] < 0.1 || p[2] > 0.99 || (optTheta && p[3] < 1)) return(1e300)
    sum(((x - path(p, 0)) / scale)[3:n]^2)
  }
  p <- optim(if (optTheta) c(x[1] / 2, 0.5, 2) else c(x[1] / 2, 0.5), obj)$par
  path(p, h)[n + 1:h]
}
variants <- list(
  "thetaf" = NULL,
  "classic: SES(l0=Z1) on theta=2 line" = twoLines(sesFirst),
  "classic: ses() on theta=2 line" = twoLines(function(z, h) as.numeric(ses(z, h = h)$mean)),
  "damped Holt on theta=2 line" = twoLines(function(z, h) as.numeric(holt(z, h = h, damped = TRUE)$mean)),
  "DSTM" = dynTheta(FALSE),
  "DOTM" = dynTheta(TRUE))
cats <- list(yearly = c(1, 6), quarterly = c(4, 8), other = c(1, 8))
for (cat in names(cats)) {
  freq <- cats[[cat]][1]; h <- cats[[cat]][2]
  tr <- read.csv(file.path(dir, sprintf("m3_%s_train.csv", cat)), stringsAsFactors = FALSE)
  te <- read.csv(file.path(dir, sprintf("m3_%s_test.csv", cat)), stringsAsFactors = FALSE)
  tr <- tr[order(tr$series_id, tr$t), ]; te <- te[order(te$series_id, te$t), ]
  ids <- unique(tr$series_id)
  ys <- split(tr$value, tr$series_id)[ids]; xs <- split(te$value, te$series_id)[ids]
  sub <- if (is.null(submitted)) NULL else submitted[ids, 1:h, drop = FALSE]
  report <- function(name, fc) {
    sm <- ms <- d <- numeric(length(ids))
    for (i in seq_along(ids)) {
      f <- fc(i); x <- xs[[i]][1:h]
      sm[i] <- mean(200 * abs(x - f) / (abs(x) + abs(f)))
      ms[i] <- mean(abs(x - f)) / mean(abs(diff(ys[[i]], lag = freq)))
      if (!is.null(sub)) d[i] <- mean(200 * abs(sub[i, ] - f) / (abs(sub[i, ]) + abs(f)))
    }
    cat(sprintf("%-10s %-38s sMAPE %6.3f MASE %6.3f", cat, name, mean(sm), mean(ms)))
    if (!is.null(sub)) cat(sprintf("  distance to submitted: mean %5.2f median %5.2f", mean(d), median(d)))
    cat("\n")
  }
  if (!is.null(sub)) report("submitted M3 THETA forecasts", function(i) sub[i, ])
  for (v in names(variants)) {
    report(v, function(i) {
      y <- ts(ys[[i]], frequency = freq)
      if (is.null(variants[[v]])) return(as.numeric(thetaf(y, h = h)$mean))
      a <- seasadj(y); as.numeric(variants[[v]](a$x, h)) * a$idx(h)
    })
  }
}
