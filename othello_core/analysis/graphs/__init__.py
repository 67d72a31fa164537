"""Attribution graphs over transcoder features, with circuit-tracer as the engine."""
