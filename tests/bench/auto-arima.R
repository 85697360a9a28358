# SPDX-License-Identifier: LGPL-2.1-or-later
# Reference forecasts for bench-arima-vs-r: forecast::auto.arima with its
# defaults on each series of INPUT, h steps ahead.
#   Rscript auto-arima.R INPUT OUTPUT
# INPUT: one series per line, "name<TAB>frequency<TAB>h<TAB>v1,v2,...".
# OUTPUT: "name<TAB>f1,...,fh<TAB>order<TAB>wall s<TAB>cpu s" per series:
# the time of auto.arima and forecast alone (proc.time around them: R
# start-up and package loading excluded). Each line is written as soon as
# it is known. When OUTPUT already exists, the series it holds are kept and
# skipped, so an interrupted run resumes where it stopped (series are known
# by name: delete OUTPUT when the bench's selection or holdout changes); a
# line cut short by the interruption is dropped.
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(forecast))
lines <- readLines(args[1])
series <- lapply(strsplit(lines, "\t", fixed = TRUE), function(f) {
  list(name = f[1], freq = as.numeric(f[2]), h = as.integer(f[3]),
       x = as.numeric(strsplit(f[4], ",", fixed = TRUE)[[1]]))
})
done <- character(0)
kept <- character(0)
if (file.exists(args[2])) {
  old <- readLines(args[2], warn = FALSE)
  size <- file.info(args[2])$size
  if (size > 0 && readBin(args[2], "raw", size)[size] != as.raw(10))
    old <- head(old, -1)
  whole <- vapply(strsplit(old, "\t", fixed = TRUE), function(f)
    length(f) == 5 && !is.na(suppressWarnings(as.numeric(f[5]))), TRUE)
  kept <- old[whole]
  done <- vapply(strsplit(kept, "\t", fixed = TRUE), function(f) f[1], "")
}
# rewritten without the cut line, then appended to
con <- file(args[2], open = "w")
writeLines(kept, con)
for (s in series) {
  if (s$name %in% done)
    next
  t0 <- proc.time()
  fit <- auto.arima(ts(s$x, frequency = s$freq))
  fc <- forecast(fit, h = s$h)
  dt <- proc.time() - t0
  writeLines(paste(s$name, paste(format(as.numeric(fc$mean), digits = 17), collapse = ","),
                   paste(arimaorder(fit), collapse = " "), dt[["elapsed"]],
                   dt[["user.self"]] + dt[["sys.self"]], sep = "\t"), con)
  flush(con)
}
close(con)
