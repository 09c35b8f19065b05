"""The rules, one module per scope; importing this package registers them all."""

from validators.rules import exemplar, files, project, star, unit

__all__ = ["exemplar", "files", "project", "star", "unit"]
