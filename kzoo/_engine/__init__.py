"""One ``keras.Model`` compiled and fit fast: options, the fit/evaluate/predict calls, the fast
path, early stopping and per-epoch lines (``kzoo.distribute``, a public module, is this wing's
too). Knows nothing of plugins, registries, data sources or saved models."""
