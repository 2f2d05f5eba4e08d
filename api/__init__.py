"""The HTTP adapter: FastAPI routes over jobs. Imports jobs only (never torch, nas_core, worker)."""
