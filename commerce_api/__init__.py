"""Reference commerce API (orders, customers, returns, shipping, products, policy) used by the support
assistant's demo, tests and benchmarks; docs/commerce-api.md is the contract it implements."""

__all__ = ["__version__"]

# 2: multi-shop contract (string ids, customers, policy, products, multi-item returns, verification limits).
__version__ = "2.0.0"
