"""The operators' console: server-rendered pages, live updates over SSE, no build step."""
