"""Figures (matplotlib on an Agg canvas, imported only here) and the report."""
