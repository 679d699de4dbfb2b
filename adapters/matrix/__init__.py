"""Matrix, on matrix-nio: imported only when the config has a `[matrix]` section."""

from adapters.matrix.adapter import MatrixAdapter

__all__ = ["MatrixAdapter"]
