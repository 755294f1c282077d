"""One ``keras.Model`` compiled and fit fast: options, strategies, the fit/evaluate/predict calls,
the loops (``loops.choose_loop`` picks one), early stopping and per-epoch lines (``kzoo.distribute``
is this wing's public face). Knows nothing of plugins, registries, data sources or saved models."""
