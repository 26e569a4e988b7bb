"""Shared plumbing: database, configuration, authentication, permissions, audit, CLI."""
