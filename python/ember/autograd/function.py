"""ember.autograd.Function: ops written in Python whose backward runs inside the C++ engine.

``Function.apply`` runs ``forward`` under no_grad, then records one graph node for the call
(``_C._record_function``). The node keeps the tensors given to ``ctx.save_for_backward`` as
C++ saved tensors (outputs among them without a reference cycle, all with the version check),
and its backward calls back into Python: ``backward(ctx, *grads)`` gets one gradient per
forward output and returns one per forward argument; the node checks and maps them onto the
tensor arguments.
"""
import functools

from .. import _C
from .grad_mode import no_grad

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]

_Tensor = _C.Tensor


class FunctionCtx:
    """The ``ctx`` passed to ``Function.forward`` / ``setup_context`` / ``backward``."""

    def __init__(self, needs_input_grad=()):
        self.needs_input_grad = needs_input_grad
        self.to_save = ()
        self.dirty_tensors = ()
        self.non_differentiable = ()
        self.materialize_grads = True
        self._node = None       # the graph node, only while its backward runs
        self._recorded = False  # saved tensors moved into a graph node

    def save_for_backward(self, *tensors):
        """Saves tensors (or None) for backward; read them back with ``ctx.saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        raise NotImplementedError("ember.autograd.Function: forward-mode AD (save_for_forward) is not supported")

    def mark_dirty(self, *args):
        """Marks input tensors that forward modified in place (and returns as outputs)."""
        self.dirty_tensors = args

    def mark_non_differentiable(self, *args):
        """Marks outputs that have no gradient (backward receives zeros for them)."""
        self.non_differentiable = args

    def set_materialize_grads(self, value):
        """False: gradients of outputs that received none are passed to backward as None."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        if self._node is not None:
            return self._node._saved_tensors()
        if self._recorded:
            raise RuntimeError("ember.autograd.Function: ctx.saved_tensors can be read only inside backward")
        return tuple(self.to_save)


class BackwardCFunction(FunctionCtx):
    """Base of the per-Function ctx classes (``MyFnBackward``), as in torch."""

    _forward_cls = None


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        super().__init__(name, bases, attrs)


def _setup_context_overridden(cls):
    return getattr(cls.setup_context, "__func__", cls.setup_context) is not _base_setup_context


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable operations written with ``forward`` / ``backward`` staticmethods.

    Use it through ``MyFunction.apply(*args)``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("ember.autograd.Function: forward-mode AD (jvp) is not supported")

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args, **kwargs):
        grad_on = _C.is_grad_enabled()
        needs_input_grad = tuple(isinstance(a, _Tensor) and grad_on and a.requires_grad for a in args)
        ctx = cls._backward_cls(needs_input_grad)
        with no_grad():
            if _setup_context_overridden(cls):
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        if not any(needs_input_grad):
            return outputs
        return _record(cls, ctx, args, outputs)


_base_setup_context = Function.__dict__["setup_context"].__func__


def _record(cls, ctx, args, outputs):
    """Links the outputs of one Function call to a new graph node; returns the outputs."""
    name = cls._backward_cls.__name__
    is_tuple = isinstance(outputs, tuple)
    outs = list(outputs) if is_tuple else [outputs]
    tensor_args = [a for a in args if isinstance(a, _Tensor)]
    arg_ids = {id(a) for a in tensor_args}
    dirty_ids = {id(t) for t in ctx.dirty_tensors}
    non_diff_ids = {id(t) for t in ctx.non_differentiable}
    out_ids = {id(o) for o in outs}

    for t in ctx.dirty_tensors:
        if id(t) not in out_ids:
            raise RuntimeError("Some elements marked as dirty during the forward method were not returned as "
                               "output. The inputs that are modified inplace must all be outputs of the Function.")
        if t.is_leaf and t.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        if t._base is not None and (tensor_args[0] is not t or len(outs) != 1):
            # The base's new history runs the node for the view's region; the node's gradient for
            # its first input stands for the view's old value.
            raise RuntimeError("ember.autograd.Function: a view modified in place (mark_dirty) must be the first "
                               "tensor argument of forward and its only output")

    # Per output: ("diff", slot of the node) / ("nondiff", (shape, dtype)) / ("other", None).
    layout, diff_outs = [], []
    for i, o in enumerate(outs):
        if not isinstance(o, _Tensor):
            layout.append(("other", None))
            continue
        nondiff = id(o) in non_diff_ids or not o.is_floating_point()
        if id(o) in arg_ids and id(o) not in dirty_ids:
            o = outs[i] = o.detach()  # an input returned as is: a new alias gets the new history
        if nondiff:
            layout.append(("nondiff", (tuple(o.shape), o.dtype)))
            continue
        layout.append(("diff", len(diff_outs)))
        diff_outs.append(o)

    saved = [t for t in ctx.to_save]
    saved_is_output = [t is not None and any(t is o for o in diff_outs) for t in saved]
    tensor_positions = [i for i, a in enumerate(args) if isinstance(a, _Tensor)]
    trampoline = _make_trampoline(cls, ctx, name, len(args), tensor_positions, layout)
    _C._record_function(name, trampoline, tensor_args, diff_outs, ctx.materialize_grads, saved, saved_is_output)
    ctx.to_save = ()
    ctx._recorded = True
    return tuple(outs) if is_tuple else outs[0]


def _make_trampoline(cls, ctx, name, n_args, tensor_positions, layout):
    """The callable the graph node runs in backward: node gradients -> Function.backward -> per-tensor grads."""
    tensor_pos = set(tensor_positions)

    def trampoline(node, *grads):
        from .. import zeros
        full = []
        for kind, info in layout:
            if kind == "diff":
                full.append(grads[info])
            elif kind == "nondiff" and ctx.materialize_grads:
                full.append(zeros(info[0], dtype=info[1]))
            else:
                full.append(None)
        ctx._node = node
        try:
            result = cls.backward(ctx, *full)
        finally:
            ctx._node = None
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != n_args:
            if len(result) > n_args and all(r is None for r in result[n_args:]):
                result = result[:n_args]
            else:
                raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected "
                                   f"{n_args}, got {len(result)})")
        per_tensor = []
        for i, r in enumerate(result):
            if i in tensor_pos:
                per_tensor.append(r)
            elif r is not None:
                raise RuntimeError(f"function {name} returned a gradient different than None at position {i + 1}, "
                                   "but the corresponding forward input was not a Variable")
        return per_tensor

    return trampoline


_ONCE_MSG = "trying to differentiate twice a function that was marked with @once_differentiable"


def _delayed_error_trampoline(node, *grads):
    raise RuntimeError(_ONCE_MSG)


def once_differentiable(fn):
    """Decorates ``backward``: it runs without recording a graph, and differentiating its result
    (double backward) raises instead of silently giving a wrong answer."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not _C.is_grad_enabled():
            return outputs
        tracked = [a for a in args if isinstance(a, _Tensor) and a.requires_grad]
        if not tracked:
            return outputs
        is_tuple = isinstance(outputs, tuple)
        outs = list(outputs) if is_tuple else [outputs]
        diff = []
        for i, o in enumerate(outs):
            if isinstance(o, _Tensor) and o.is_floating_point():
                if o.requires_grad or any(o is a for a in args):
                    o = outs[i] = o.detach()
                diff.append(o)
        if diff:
            _C._record_function("Error", _delayed_error_trampoline, tracked, diff, True, [], [])
        return tuple(outs) if is_tuple else outs[0]

    return wrapper
