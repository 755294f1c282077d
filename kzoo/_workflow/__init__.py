"""The user's workflow, end to end: list and build models, load data for one model, train,
evaluate and predict with saved models, export, and draw curves and diagrams. The top wing: what
``kzoo.__init__`` and the CLI call."""
