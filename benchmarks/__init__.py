"""Reproducible speed and quality runs. Not run by CI; each module has a ``main()``."""
