"""apiforge: generate FastAPI CRUD services from a YAML spec and keep them in step with it."""

__version__ = "0.1.0"
