"""Evidence bundles: mentions kept as they were, with the facts that rebut them, exportable."""
