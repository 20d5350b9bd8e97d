"""Python-level parts of ember's elementwise ops (argument handling only; the work is C++)."""
