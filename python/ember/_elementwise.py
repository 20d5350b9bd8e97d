"""Python-level parts of ember's elementwise ops (argument handling only; the work is C++).

Every elementwise op, its Tensor method, in-place form and operator is bound directly in C++
(bindings/elementwise.cpp, bindings/tensor.cpp), so nothing is wrapped here.
"""

__all__ = []
