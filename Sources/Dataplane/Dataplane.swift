// The Dataplane module: see ../shared/DESIGN.md.
