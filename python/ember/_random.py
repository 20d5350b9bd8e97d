"""Python-level parts of ember's random ops (argument handling only; the work is C++)."""
