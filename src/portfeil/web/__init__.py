"""Shared web plumbing: the service registry contract, dependencies, errors as JSON, bilingual pages."""
