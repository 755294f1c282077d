"""Metadata as plain data: ``ModelSpec`` and ``TensorSpec``, the facts a built ``keras.Model``
tells, and the card of a set of trained weights. Imports the ground floor only, so listing the
zoo never needs keras."""
