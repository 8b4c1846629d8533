"""The layer-spec language: lexer (``lexer``), parser (``parser.parse_spec``) and
syntax tree (``ast``). See docs/spec-format.md."""
