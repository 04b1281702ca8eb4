"""tsmaker: build photo-z training sets from spec-z catalogs and LSST Object photometry."""

__version__ = "0.1.0"
