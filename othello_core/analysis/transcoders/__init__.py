"""Per-layer transcoders (one per MLP): the recipe, the training loop, circuit-tracer's file format, and the report."""
