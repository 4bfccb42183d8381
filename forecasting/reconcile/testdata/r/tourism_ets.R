# Base forecasts for the tourism evaluation (FPP3 §11.4), regenerated with:
#   Rscript tourism_ets.R /path/to/shared/data/tourism/tourism_quarterly_trips.csv ../tourism_ets.csv.gz ../tourism_r_reference.csv
# For each of the 425 nodes of (State/Region) × Purpose (aggregates summed
# from the bottom series): train 1998Q1–2015Q4 (72 quarters), then
#   fit <- forecast::ets(ts(y, frequency = 4))        # automatic ETS, AICc
#   fc  <- forecast::forecast(fit, h = 8)$mean          # 2016Q1–2017Q4
#   res <- y - fitted(fit)                              # response residuals
# Output (gzipped long CSV): geo, purpose, kind (fc|res|model), h, value.
# "" in geo/purpose means the total of that dimension; geo is a state code or
# a region name.
# The script also reconciles with plain matrix algebra (no hts/FoReco) and
# writes RMSE figures (Total; bottom as in FPP3 = mean of per-series RMSEs;
# bottom_pooled = RMSE over all bottom values; all = over all 425 nodes) for an independent check of the Go implementation.
suppressMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
quarters <- sort(unique(d$quarter))
stopifnot(length(quarters) == 80)
train_q <- quarters[1:72]
test_q <- quarters[73:80]
states <- sort(unique(d$state))
regions <- unique(d[order(d$state, d$region), c("state", "region")])
purposes <- sort(unique(d$purpose))
geo <- c(list(list(id = "", rows = rep(TRUE, nrow(d)))),
         lapply(states, function(s) list(id = s, rows = d$state == s)),
         lapply(seq_len(nrow(regions)), function(i) list(id = regions$region[i],
              rows = d$state == regions$state[i] & d$region == regions$region[i])))
purp <- c(list(list(id = "", rows = rep(TRUE, nrow(d)))),
          lapply(purposes, function(p) list(id = p, rows = d$purpose == p)))
out <- list(); k <- 0
nodes <- list(); Y <- NULL; F <- NULL; R <- NULL
for (g in geo) for (p in purp) {
  sel <- d[g$rows & p$rows, ]
  y <- tapply(sel$trips, factor(sel$quarter, levels = quarters), sum)
  ytr <- as.numeric(y[train_q]); yte <- as.numeric(y[test_q])
  fit <- ets(ts(ytr, frequency = 4))
  fc <- as.numeric(forecast(fit, h = 8)$mean)
  res <- ytr - as.numeric(fitted(fit))
  k <- k + 1
  nodes[[k]] <- c(g$id, p$id)
  Y <- cbind(Y, yte); F <- cbind(F, fc); R <- cbind(R, res)
  out[[k]] <- rbind(
    data.frame(geo = g$id, purpose = p$id, kind = "fc", h = 1:8, value = sprintf("%.10g", fc)),
    data.frame(geo = g$id, purpose = p$id, kind = "res", h = 1:72, value = sprintf("%.10g", res)),
    data.frame(geo = g$id, purpose = p$id, kind = "model", h = 0, value = fit$method))
}
all <- do.call(rbind, out)
con <- gzfile(args[2], "w"); write.csv(all, con, row.names = FALSE); close(con)

# Independent reconciliation by matrix algebra, on the rounded stored values.
F <- matrix(as.numeric(sprintf("%.10g", F)), nrow = 8)
R <- matrix(as.numeric(sprintf("%.10g", R)), nrow = 72)
n <- length(nodes)
bottom <- which(sapply(nodes, function(x) x[1] %in% regions$region && x[2] %in% purposes))
S <- matrix(0, n, length(bottom))
for (i in seq_len(n)) for (jj in seq_along(bottom)) {
  b <- nodes[[bottom[jj]]]; a <- nodes[[i]]
  st <- regions$state[regions$region == b[1]]
  S[i, jj] <- as.numeric((a[1] == "" || a[1] == st || a[1] == b[1]) && (a[2] == "" || a[2] == b[2]))
}
yhat <- t(F)                                   # n x 8
W1 <- crossprod(R) / nrow(R)                   # uncentred sample covariance
xs <- scale(R, center = FALSE, scale = sqrt(diag(W1)))
v <- (1 / (nrow(R) * (nrow(R) - 1))) * (crossprod(xs^2) - 1 / nrow(R) * (crossprod(xs))^2)
diag(v) <- 0
d2 <- (cov2cor(W1) - diag(n))^2
lambda <- max(min(sum(v) / sum(d2), 1), 0)
Wshr <- lambda * diag(diag(W1)) + (1 - lambda) * W1
recon <- function(W) S %*% solve(t(S) %*% solve(W) %*% S, t(S) %*% solve(W) %*% yhat)
fits <- list(base = yhat, bu = S %*% yhat[bottom, ], ols = recon(diag(n)), mint = recon(Wshr),
             wls = recon(diag(diag(W1))))
actual <- t(Y)
rmse <- function(f, rows) sqrt(mean((actual[rows, ] - f[rows, ])^2))
# FPP3 §11.4 averages per-series RMSEs: accuracy() |> summarise(rmse = mean(rmse)).
mean_rmse <- function(f, rows) mean(sqrt(rowMeans((actual[rows, , drop = FALSE] - f[rows, , drop = FALSE])^2)))
ref <- do.call(rbind, lapply(names(fits), function(m) data.frame(method = m,
  total = sprintf("%.10g", rmse(fits[[m]], 1)),
  bottom = sprintf("%.10g", mean_rmse(fits[[m]], bottom)),
  bottom_pooled = sprintf("%.10g", rmse(fits[[m]], bottom)),
  all = sprintf("%.10g", rmse(fits[[m]], seq_len(n))))))
ref <- rbind(ref, data.frame(method = "lambda", total = sprintf("%.10g", lambda), bottom = "", bottom_pooled = "", all = ""))
write.csv(ref, args[3], row.names = FALSE)
print(ref)
