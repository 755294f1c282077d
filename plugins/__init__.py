"""kzoo's built-in plugins: ordinary plugins, loaded through the ``kzoo`` entry-point group.

Each module registers its models with ``kzoo_register_models`` and imports keras only inside
``build_model``, so listing models stays fast.
"""
