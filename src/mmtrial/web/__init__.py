"""The coordinator web interface: server-rendered templates with htmx."""
