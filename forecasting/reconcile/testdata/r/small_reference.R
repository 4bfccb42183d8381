# Reference values for reconcile_test.go (plain R matrix algebra; base R only).
# Run: Rscript small_reference.R
options(digits = 17)
# Grouped: Geo {A, B} x Product {X, Y}; node order TT, TX, TY, AT, BT, AX, AY, BX, BY.
S <- rbind(c(1,1,1,1), c(1,0,1,0), c(0,1,0,1), c(1,1,0,0), c(0,0,1,1), diag(4))
yhat <- cbind(c(100, 45, 52, 60, 38, 24, 33, 17, 20), c(110, 50, 50, 70, 35, 30, 30, 15, 22))
set.seed(1); R <- round(matrix(rnorm(12 * 9, sd = 2), 12, 9) + rnorm(12, sd = 3) %o% c(4, 2, 2, 2, 2, 1, 1, 1, 1), 3)
cat("R <- "); dput(R)
recon <- function(W) S %*% solve(t(S) %*% solve(W) %*% S, t(S) %*% solve(W) %*% yhat)
cat("OLS\n"); print(recon(diag(9)))
cat("WLS structural\n"); print(recon(diag(rowSums(S))))
W1 <- crossprod(R) / nrow(R)
cat("WLS variance\n"); print(recon(diag(diag(W1))))
xs <- scale(R, center = FALSE, scale = sqrt(diag(W1)))
v <- (1 / (nrow(R) * (nrow(R) - 1))) * (crossprod(xs^2) - 1 / nrow(R) * (crossprod(xs))^2)
diag(v) <- 0
lambda <- max(min(sum(v) / sum((cov2cor(W1) - diag(9))^2), 1), 0)
cat("lambda", lambda, "\n")
Wshr <- lambda * diag(diag(W1)) + (1 - lambda) * W1
cat("MinT shrink\n"); print(recon(Wshr))
# Non-negative OLS: yhat with a strongly negative cell; solved by brute force
# over active sets (all 2^4 subsets of cells fixed at zero, keep the feasible
# KKT point).
yneg <- c(40, 30, 5, 25, 12, 20, -12, 9, -10)
best <- NULL
for (mask in 0:15) {
  free <- which(bitwAnd(mask, 2^(0:3)) == 0)
  b <- rep(0, 4)
  if (length(free) > 0) {
    Sf <- S[, free, drop = FALSE]
    b[free] <- solve(t(Sf) %*% Sf, t(Sf) %*% yneg)
  }
  grad <- t(S) %*% (S %*% b - yneg)
  if (all(b >= -1e-12) && all(grad[setdiff(1:4, free)] >= -1e-12)) best <- b
}
cat("OLS bottom (unconstrained)\n"); print(solve(t(S) %*% S, t(S) %*% yneg))
cat("NN-OLS bottom\n"); print(best)
# Hierarchy: Total > A (AA, AB), B (BA, BB, BC); order T, A, B, AA, AB, BA, BB, BC.
H <- rbind(rep(1, 5), c(1,1,0,0,0), c(0,0,1,1,1), diag(5))
hist <- rbind(c(10, 12, 11, 13, 12, 14), c(5, 6, 4, 5, 7, 6), c(20, 18, 22, 21, 19, 23), c(8, 9, 7, 8, 10, 9), c(3, 2, 4, 3, 2, 3))
fc <- c(70, 25, 40, 14, 9, 22, 12, 4)
tot <- colSums(hist)
ahp <- rowMeans(sweep(hist, 2, tot, "/")); cat("TD AHP\n"); print(H %*% (ahp * fc[1]))
pha <- rowSums(hist) / sum(tot); cat("TD PHA\n"); print(H %*% (pha * fc[1]))
fp <- c(fc[1] * fc[2] / (fc[2] + fc[3]) * fc[4:5] / sum(fc[4:5]), fc[1] * fc[3] / (fc[2] + fc[3]) * fc[6:8] / sum(fc[6:8]))
cat("TD FP\n"); print(H %*% fp)
mo <- c(fc[2] * fc[4:5] / sum(fc[4:5]), fc[3] * fc[6:8] / sum(fc[6:8])); cat("MO FP level 1\n"); print(H %*% mo)
# Gaussian intervals (80%) of the OLS-reconciled forecasts, horizon 1, with
# base covariance W1: sd = sqrt(diag(S G W1 G' S')), G = (S'S)^-1 S'.
G <- solve(t(S) %*% S, t(S))
sdrec <- sqrt(diag(S %*% G %*% W1 %*% t(G) %*% t(S)))
mrec <- S %*% G %*% yhat[, 1]
cat("OLS 80% lower\n"); print(as.vector(mrec - qnorm(0.9) * sdrec))
cat("OLS 80% upper\n"); print(as.vector(mrec + qnorm(0.9) * sdrec))
