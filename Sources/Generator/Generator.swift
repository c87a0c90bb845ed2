// The Generator module: see ../shared/DESIGN.md.
