"""Domain term lists and vocabulary extension (see DESIGN.md, "vocab/")."""
