// The Lab module: see ../shared/DESIGN.md.
