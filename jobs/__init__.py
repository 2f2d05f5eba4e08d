"""The search-job domain shared by the API and the worker: torch-free by contract."""
