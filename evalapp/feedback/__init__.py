"""Members' suggestions and chairs' responses."""
