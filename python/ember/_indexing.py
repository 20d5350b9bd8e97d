"""Python-level parts of ember's indexing ops (argument handling only; the work is C++)."""
