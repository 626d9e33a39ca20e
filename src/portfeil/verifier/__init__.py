"""The relying-party verifier: OpenID4VP 1.0 + HAIP 1.0 with DCQL, a REST API for services, demo services."""
