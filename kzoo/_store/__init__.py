"""Files a run leaves: ``.keras`` files with kzoo's metadata (its schema, safe loading with the
plugins that made them) and the per-epoch checkpoint that a run resumes from."""
