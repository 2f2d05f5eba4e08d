"""The Celery adapter: tasks that claim a search, run nas_core with a bridge into jobs, and
persist the results. Imports jobs and nas_core, never api."""
