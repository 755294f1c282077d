"""The machine, without a framework: which Keras backend runs, atomic output files, and size
limits checked before anything is allocated. Imports only ``kzoo.errors``; every wing may use it."""
