"""Classical (CPU) decomposer: no weights, no GPU, seconds per design."""

from .engine import ClassicalDecomposer

__all__ = ["ClassicalDecomposer"]
