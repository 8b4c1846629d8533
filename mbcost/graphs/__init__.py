"""A model as a graph of operators, written back as a spec (export), and two tables of one model matched row by row. Pure Python."""
