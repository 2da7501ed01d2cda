"""Shipped model files (JSON), installed with the package as ``riskscore.models``."""
