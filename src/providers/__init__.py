"""Clients of the outside world. They know nothing of FastAPI or Dagster."""
