"""The library's results: a network's costs (analysis), compared, swept, picked, the families side by side, the paper's tables, the zoo of specs and the published data. Pure Python."""
