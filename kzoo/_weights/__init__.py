"""Trained weights: looking up the cards plugins register, the verified cache and download, and
building or fine-tuning from them."""
