"""The plain FastAPI app (testable without Ray); serve_app.deployment wraps it for Ray Serve."""
