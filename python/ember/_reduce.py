"""Python-level parts of ember's reduce ops (argument handling only; the work is C++)."""
