"""The compiler and its settings: a parsed spec compiled to a network of rows (network), the one executor of its DAG (graph), what is counted by default (conventions). Pure Python."""
