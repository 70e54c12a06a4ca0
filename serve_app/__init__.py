"""Ray Serve + FastAPI: the HTTP/WebSocket API and the web console."""
