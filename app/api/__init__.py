"""HTTP layer: thin routers that parse, call one domain function and return a schema."""
