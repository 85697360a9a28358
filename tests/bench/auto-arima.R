# SPDX-License-Identifier: LGPL-2.1-or-later
# Reference forecasts for bench-arima-vs-r: forecast::auto.arima with its
# defaults on each series of INPUT, h steps ahead.
#   Rscript auto-arima.R INPUT OUTPUT
# INPUT: one series per line, "name<TAB>frequency<TAB>h<TAB>v1,v2,...".
# OUTPUT: "name<TAB>f1,...,fh<TAB>order" per series, then
# "ELAPSED<TAB>wall s<TAB>cpu s": the time of the fitting loop alone
# (proc.time around it: R start-up and package loading excluded).
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(forecast))
lines <- readLines(args[1])
series <- lapply(strsplit(lines, "\t", fixed = TRUE), function(f) {
  list(name = f[1], freq = as.numeric(f[2]), h = as.integer(f[3]),
       x = as.numeric(strsplit(f[4], ",", fixed = TRUE)[[1]]))
})
# Each result is written as soon as it is known (a long run shows progress).
con <- file(args[2], open = "w")
t0 <- proc.time()
for (i in seq_along(series)) {
  s <- series[[i]]
  fit <- auto.arima(ts(s$x, frequency = s$freq))
  fc <- forecast(fit, h = s$h)
  writeLines(paste(s$name, paste(format(as.numeric(fc$mean), digits = 17), collapse = ","),
                   paste(arimaorder(fit), collapse = " "), sep = "\t"), con)
  flush(con)
}
dt <- proc.time() - t0
writeLines(paste("ELAPSED", dt[["elapsed"]], dt[["user.self"]] + dt[["sys.self"]], sep = "\t"), con)
close(con)
