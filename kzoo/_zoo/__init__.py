"""What exists: the plugin host, the registry of model builders, ``ModelBuilder`` and
``@kzoo.model``, manifests read and written, named data sets, and new plugin projects. Builds
models; never trains them beyond what ``ModelBuilder`` hands to ``kzoo._engine``."""
