"""Results laid out for people and machines: documents of typed cells, rendered as text, rich, CSV, JSON, Markdown or LaTeX and written whole or not at all."""
