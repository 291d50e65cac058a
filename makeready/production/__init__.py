"""The production stage: production orders at a factory, their lots, progress reports, tooling and the factory's
production link (DESIGN.md section 3b). Materials, quality and shipping build on it in their own packages."""
