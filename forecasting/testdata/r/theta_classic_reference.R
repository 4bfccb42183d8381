# Reference values for TestThetaClassicReference (forecasting/thetaclassic_test.go):
# the classic Theta method of Assimakopoulos & Nikolopoulos (2000) written out in
# plain R — no forecast-package function is used for the method itself.
# Usage: Rscript forecasting/testdata/r/theta_classic_reference.R   (R 4.x, datasets only)
options(digits = 12)
theta_classic <- function(y, h, level = c(80, 95)) {
  m <- frequency(y); n <- length(y)
  # 1. Seasonality: 90% test of the lag-m autocorrelation, classical
  #    multiplicative decomposition when it is significant.
  seas <- NULL
  if (m > 1 && n > 2 * m) {
    r <- as.numeric(acf(y, lag.max = m, plot = FALSE)$acf)[-1]
    if (abs(r[m]) / sqrt((1 + 2 * sum(r[-m]^2)) / n) > qnorm(0.95))
      seas <- decompose(y, type = "multiplicative")$seasonal
  }
  x <- as.numeric(if (is.null(seas)) y else y / seas)
  # 2. theta = 0 line: least-squares trend.
  tt <- 1:n
  lrl <- lm(x ~ tt)
  a <- unname(coef(lrl)[1]); b <- unname(coef(lrl)[2])
  # 3. theta = 2 line and SES on it, level starting at its first value.
  z <- 2 * x - (a + b * tt)
  sse <- function(alpha) {
    l <- z[1]; s <- 0
    for (v in z) { s <- s + (v - l)^2; l <- l + alpha * (v - l) }
    s
  }
  grid <- seq(0, 1, by = 0.001)
  g <- grid[which.min(sapply(grid, sse))]
  alpha <- optimize(sse, c(max(0, g - 0.001), min(1, g + 0.001)), tol = 1e-12)$minimum
  if (sse(g) < sse(alpha)) alpha <- g
  l <- z[1]; e <- numeric(n)
  for (i in 1:n) { e[i] <- (z[i] - l) / 2; l <- l + alpha * (z[i] - l) }
  # 4. Equal-weight combination, SES-with-drift variance, reseasonalised.
  mean_adj <- (a + b * (n + 1:h) + l) / 2
  sigma2 <- sum(e^2) / (n - 3)
  se <- sqrt(sigma2 * (1 + (0:(h - 1)) * alpha^2))
  idx <- if (is.null(seas)) rep(1, h) else rep(tail(seas, m), ceiling(h / m) + 1)[1:h]
  list(alpha = alpha, level0 = z[1], sigma2 = sigma2, mean = mean_adj * idx,
       lo95 = (mean_adj - qnorm(0.975) * se) * idx, hi80 = (mean_adj + qnorm(0.9) * se) * idx,
       seasonal = !is.null(seas))
}
p <- function(label, r) cat(sprintf('%s: alpha %.12g sigma2 %.12g seasonal %s\n  mean {%s}\n  lo95 {%s}\n  hi80 {%s}\n',
  label, r$alpha, r$sigma2, r$seasonal,
  paste(sprintf("%.12g", r$mean), collapse = ", "), paste(sprintf("%.12g", r$lo95), collapse = ", "),
  paste(sprintf("%.12g", r$hi80), collapse = ", ")))
p("theta_classic(Nile, h=4)", theta_classic(Nile, 4))
p("theta_classic(WWWusage, h=4)", theta_classic(WWWusage, 4))
p("theta_classic(AirPassengers, h=4)", theta_classic(AirPassengers, 4))
p("theta_classic(UKgas, h=6)", theta_classic(UKgas, 6))
