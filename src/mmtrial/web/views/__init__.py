"""Thin views, one module per area: each parses input, calls one service or selector, renders."""
