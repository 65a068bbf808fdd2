"""HTTP routers of the commerce API, one per resource."""
