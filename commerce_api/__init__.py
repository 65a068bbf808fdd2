"""Reference commerce API (orders, returns, shipping) used by the support assistant's demo, tests and benchmarks."""

__all__ = ["__version__"]

__version__ = "1.0.0"
