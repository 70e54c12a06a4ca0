"""Script writers: offline templates, an OpenAI-compatible LLM, or the user's own text."""
