"""Coverage (which unions had to be evaluated this year, and were) and the yearly figures of a subtree."""
