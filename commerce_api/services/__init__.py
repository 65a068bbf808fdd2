"""Business operations, one module per resource. Each function takes an open session and keyword arguments
and returns a response schema or raises an ApiError; routers only wire HTTP to them."""
