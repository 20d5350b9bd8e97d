"""Python-level parts of ember's shape ops (argument handling only; the work is C++)."""
