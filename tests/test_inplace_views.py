"""In-place ops on views: values, gradients and graph node names against torch.

Each program runs on ember and on torch from the same leaves; it returns the tensors to compare.
Their values and grad_fn names are compared, then the same random upstream gradient is pushed
back through all of them and the leaves' gradients are compared.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import assert_close, gradcheck_fd

RNG = np.random.RandomState(0)
X = RNG.standard_normal((3, 4))
W = RNG.standard_normal(4)
Z = RNG.standard_normal((2, 3, 4))
MASK = RNG.standard_normal((2, 4)) > 0


def leaves(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]


def node_name(t):
    # torch's CopySlices.name() is qualified; its repr (grad_fn=<CopySlices>) is not.
    return None if t.grad_fn is None else t.grad_fn.name().replace("torch::autograd::", "")


def compare(prog, *arrays, names=True):
    """Runs prog on both libraries; compares outputs, their grad_fn names and the leaves' grads."""
    results = []
    for lib in (ember, torch):
        ins = leaves(lib, arrays)
        outs = prog(lib, *ins)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        results.append((ins, outs, [node_name(o) for o in outs]))
    (ins_e, outs_e, names_e), (ins_t, outs_t, names_t) = results
    assert len(outs_e) == len(outs_t)
    for i, (e, t) in enumerate(zip(outs_e, outs_t)):
        assert tuple(e.shape) == tuple(t.shape), f"output {i}"
        assert_close(e, t, msg=f"output {i}: ")
        assert e.requires_grad == t.requires_grad, f"output {i}: requires_grad"
    if names:
        assert names_e == names_t
    ups = [RNG.standard_normal(tuple(t.shape)) for t in outs_t]
    loss_e, loss_t = 0, 0
    for e, t, u in zip(outs_e, outs_t, ups):
        if t.requires_grad:
            loss_e = loss_e + (e * ember.tensor(u, dtype=e.dtype)).sum()
            loss_t = loss_t + (t * torch.tensor(u, dtype=t.dtype)).sum()
    if isinstance(loss_t, torch.Tensor):
        loss_e.backward()
        loss_t.backward()
    for i, (e, t) in enumerate(zip(ins_e, ins_t)):
        if t.grad is None:
            assert e.grad is None, f"grad of input {i}: torch has none"
        else:
            assert e.grad is not None, f"grad of input {i}: ember has none"
            assert_close(e.grad, t.grad, msg=f"grad of input {i}: ")


def no_grad(lib):
    return lib.no_grad()


# ---- the program table ---------------------------------------------------------------------------
def p_view_mul(lib, x):
    a = x * 1
    b = a.view(12)
    b.mul_(2)
    return a, b


def p_view_base_sum(lib, x):
    a = x * 1
    a.view(-1).mul_(2)
    return a.sum()


def p_narrow(lib, x):
    y = x * 1
    y.narrow(1, 1, 2).mul_(2)
    return y


def p_select_add_value(lib, x, w):
    y = x * 1
    y[0].add_(w)
    return y


def p_t_exp(lib, x):
    y = x * 1
    v = y.t()
    v.exp_()
    return y, v


def p_transpose_slice_sin(lib, x):
    y = x * 1
    y.transpose(0, 1)[1:3].sin_()
    return y


def p_unsqueeze(lib, x):
    y = x * 1
    y.unsqueeze(0).mul_(3)
    return y


def p_squeeze_select(lib, x):
    y = (x * 1).unsqueeze(1)
    y.squeeze(1)[0].mul_(3)
    return y


def p_permute_select(lib, z):
    y = z * 1
    y.permute(2, 0, 1)[1].add_(1)
    return y


def p_flatten_slice(lib, z, w):
    y = z * 1
    y.flatten()[3:7].mul_(w)
    return y


def p_unflatten_movedim(lib, z):
    y = z * 1
    y.flatten(1).unflatten(1, (3, 4)).movedim(0, 2)[..., 0].mul_(2)
    return y


def p_chain_of_views(lib, x):
    y = x * 1
    v = y[1:]
    vv = v[:, 1:3]
    vvv = vv.t()
    vvv.mul_(2)
    return y, v, vv, vvv


def p_other_view_after_write(lib, x):
    y = x * 1
    a = y[0]
    b = y[:, 0]
    a.mul_(3)
    return b * 2, y


def p_old_view_after_base_write(lib, x):
    y = x * 1
    v = y[1]
    y.mul_(2)
    return v * v, v


def p_view_written_twice(lib, x):
    y = x * 1
    v = y[1:]
    v.mul_(2)
    v.add_(x[1:])
    return y, v


def p_double_use_after_write(lib, x):
    y = x * 1
    v = y[0]
    v.exp_()
    return v * v + v.sum(), y


def p_copy_value_into_view(lib, x, w):
    y = x * 1
    y[0].copy_(w * 2)
    return y


def p_copy_into_view_of_plain_base(lib, w):
    y = lib.zeros(3, 4, dtype=lib.float64)
    v = y[1]
    v.copy_(w)
    return y, v


def p_setitem_into_view(lib, x, w):
    y = x * 1
    v = y[1:]
    v[0, 1:3] = w[:2] * 3
    return y, v


def p_setitem_advanced_into_view(lib, x):
    y = x * 1
    v = y[:, 1:]
    v[[0, 2]] = 0.5
    return y, v


def p_setitem_mask_into_view(lib, x, mask):
    y = x * 1
    y[1:][mask] = 0.25
    return y


def p_masked_fill_view(lib, x, mask):
    y = x * 1
    y[1:].masked_fill_(mask, 0.5)
    return y


def p_index_add_view(lib, x, w):
    y = x * 1
    y.t()[1:].index_add_(1, lib.tensor([0, 2]), lib.stack([w[:3], w[1:]], 1))
    return y


def p_scatter_view(lib, x):
    y = x * 1
    y[1:].scatter_(1, lib.tensor([[0], [3]]), 0.0)
    return y


def p_fill_and_zero(lib, x):
    y = x * 1
    y[:, 2].fill_(1.0)
    y[0].zero_()
    return y


def p_clamp_relu_view(lib, x):
    y = x * 1
    y[1:].clamp_(-0.5, 0.5)
    y[:, :2].relu_()
    return y


# Ops that save their result save the written view: a later write to the same base would make
# backward fail (in torch too), so each writes into its own base.
def p_saved_result_ops(lib, x):
    a, b, c = x * 1, x * 2, x * 3
    a[0].sigmoid_()
    b[1].tanh_()
    c[2].exp_()
    return a, b, c


def p_pow_div_tensor(lib, x, w):
    a, b = x.abs() + 1, x * 2
    a[0].pow_(w.abs())
    b[1].div_(w.abs() + 1)
    return a, b


def p_addcmul_lerp(lib, x, w):
    y = x * 1
    y[0].addcmul_(w, w, value=0.5)
    y[1].lerp_(w, 0.25)
    return y


def p_dtype_promoting_write(lib, x32, w):
    y = x32 * 1
    y[0].mul_(w)
    return y


def p_expanded_read_after_base_write(lib, x):
    y = x[:1] * 2
    e = y.expand(3, 4)
    y.mul_(3)
    return e, y


def p_tensor_split_outputs(lib, x):
    y = x * 1
    lib.tensor_split(y, 2)[0].mul_(2)
    return y


def p_base_without_grad(lib, w):
    y = lib.zeros(3, 4, dtype=lib.float64)
    y[1:][0].add_(w)
    return y


def p_view_then_base_then_view(lib, x):
    y = x * 1
    v = y[0]
    v.mul_(2)
    y.add_(1)
    return v * 1, y


def p_two_views_written(lib, x):
    y = x * 1
    a, b = y[0], y[1]
    a.mul_(2)
    b.mul_(3)
    return y, a, b


def p_overlapping_views_written(lib, x):
    y = x * 1
    y[0:2].mul_(2)
    y[1:3].add_(1)
    return y


def p_identity_view(lib, x):
    y = x * 1
    y.view(3, 4).exp_()
    return y


def p_step_slice(lib, x):
    y = x * 1
    y.view(-1)[::3].mul_(2)
    return y


def p_reshape_view(lib, x):
    y = x * 1
    y.reshape(2, 6)[1].mul_(2)
    return y


def p_reshape_copy_is_not_a_view(lib, x):
    y = (x * 1).t()
    r = y.reshape(12)
    r.mul_(2)
    return y, r


def p_self_as_value(lib, x):
    y = x * 1
    v = y[0]
    v.add_(v)
    return y


def p_other_row_as_value(lib, x):
    y = x * 1
    y[0].add_(y[1])
    return y


def p_unbind_read(lib, x):
    a, b, c = (x * 1).unbind(0)
    return a * b + c


def p_no_grad_write_then_use(lib, x):
    y = x * 1
    v = y[0]
    with no_grad(lib):
        v.mul_(2)
    return y * 1, v * 1


def p_base_gets_grad_later(lib, x):
    y = lib.zeros(3, 4, dtype=lib.float64)
    v = y[0]
    y.copy_(x)
    return v * 2, y


def p_base_inplace_nonview(lib, x):
    y = x * 2
    y.mul_(3)
    y.add_(x)
    return y


PROGRAMS = [
    (p_view_mul, [X]),
    (p_view_base_sum, [X]),
    (p_narrow, [X]),
    (p_select_add_value, [X, W]),
    (p_t_exp, [X]),
    (p_transpose_slice_sin, [X]),
    (p_unsqueeze, [X]),
    (p_squeeze_select, [X]),
    (p_permute_select, [Z]),
    (p_flatten_slice, [Z, W]),
    (p_unflatten_movedim, [Z]),
    (p_chain_of_views, [X]),
    (p_other_view_after_write, [X]),
    (p_old_view_after_base_write, [X]),
    (p_view_written_twice, [X]),
    (p_double_use_after_write, [X]),
    (p_copy_value_into_view, [X, W]),
    (p_copy_into_view_of_plain_base, [W]),
    (p_setitem_into_view, [X, W]),
    (p_setitem_advanced_into_view, [X]),
    (p_setitem_mask_into_view, [X, MASK]),
    (p_masked_fill_view, [X, MASK]),
    (p_index_add_view, [X, W]),
    (p_scatter_view, [X]),
    (p_fill_and_zero, [X]),
    (p_clamp_relu_view, [X]),
    (p_saved_result_ops, [X]),
    (p_pow_div_tensor, [X, W]),
    (p_addcmul_lerp, [X, W]),
    (p_dtype_promoting_write, [X.astype(np.float32), W]),
    (p_expanded_read_after_base_write, [X]),
    (p_tensor_split_outputs, [X]),
    (p_base_without_grad, [W]),
    (p_view_then_base_then_view, [X]),
    (p_two_views_written, [X]),
    (p_overlapping_views_written, [X]),
    (p_identity_view, [X]),
    (p_step_slice, [X]),
    (p_reshape_view, [X]),
    (p_reshape_copy_is_not_a_view, [X]),
    (p_self_as_value, [X]),
    (p_other_row_as_value, [X]),
    (p_unbind_read, [X]),
    (p_no_grad_write_then_use, [X]),
    (p_base_gets_grad_later, [X]),
    (p_base_inplace_nonview, [X]),
]


@pytest.mark.parametrize("prog,arrays", PROGRAMS, ids=[p.__name__[2:] for p, _ in PROGRAMS])
def test_program_matches_torch(prog, arrays):
    compare(prog, *arrays)


def test_view_knows_its_base():
    for lib in (ember, torch):
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        v = y[1:][0]
        assert v._base is y and y[1:]._base is y and y._base is None
        assert y.detach()._base is None
        d = y.detach()
        assert d[0]._base is d
        assert (x * 1).t().reshape(12)._base is None  # a copy, not a view


def test_grad_fn_names_after_write():
    for lib in (ember, torch):
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        v = y[0]
        v.mul_(2)
        assert node_name(y) == "CopySlices" and v.grad_fn.name() == "AsStridedBackward0"
        assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"
        assert v.grad_fn.next_functions[0][0] is y.grad_fn
        assert v._version == y._version == 1


# ---- retain_grad and hooks -----------------------------------------------------------------------
def test_retain_grad_on_written_view_and_base():
    res = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 2
        y.retain_grad()
        v = y[1:]
        v.retain_grad()
        v.mul_(3)
        (y * y).sum().backward()
        res.append((y.grad, v.grad, x.grad))
    assert_close(res[0][0], res[1][0])
    assert res[0][1] is None and res[1][1] is None  # the view's new node is not on the path
    assert_close(res[0][2], res[1][2])


def test_retain_grad_follows_inplace_write_of_nonview():
    res = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        res.append(y.grad)
    assert_close(res[0], res[1])


def test_retain_grad_of_view_used_after_write():
    res = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 2
        v = y[0]
        v.mul_(3)
        v.retain_grad()
        (v * v).sum().backward()
        res.append((v.grad, x.grad))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_hook_on_view_registered_after_write():
    seen = {}
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 2
        v = y[0]
        v.mul_(3)
        v.register_hook(lambda g, lib=lib: seen.__setitem__(lib.__name__, g.clone()) or g * 2)
        (v * v).sum().backward()
        seen[lib.__name__ + "x"] = x.grad
    assert_close(seen["ember"], seen["torch"])
    assert_close(seen["emberx"], seen["torchx"])


# ---- double backward and gradcheck -----------------------------------------------------------------
def test_double_backward_through_copy_slices():
    res = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * x
        y[1:, 1:].mul_(x[:2, :3])
        y[0].exp_()
        loss = (y ** 2).sum()
        g, = lib.autograd.grad(loss, x, create_graph=True)
        gg, = lib.autograd.grad((g * g).sum(), x)
        res.append((g, gg))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_double_backward_through_regenerated_view():
    res = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * x
        e = y[:1].expand(3, 4)
        v = y[1]
        y.mul_(x)
        loss = (e * v).pow(2).sum()
        g, = lib.autograd.grad(loss, x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        res.append((g, gg))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_gradcheck_view_write_programs():
    def prog1(lib, x, w):
        y = x * 1
        y.t()[1:3].mul_(w[:3])
        y[0].exp_()
        return y

    def prog2(lib, x):
        y = x * 2
        v = y[1:]
        v.sin_()
        y.mul_(x)
        return v * y[0]

    gradcheck_fd(prog1, X, W)
    gradcheck_fd(prog2, X)


def test_saved_output_of_inplace_on_view_double_backward():
    # exp_ saves its result, which is the written view: under create_graph it must lead back
    # through the view's new history.
    res = []
    for lib in (ember, torch):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 1
        y[1].exp_()
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        res.append((g, gg))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


# ---- errors --------------------------------------------------------------------------------------
LEAF_VIEW = "a view of a leaf Variable that requires grad is being used in an in-place operation."


@pytest.mark.parametrize("code", ["x[0].mul_(2)", "x.view(12).zero_()", "x.t().copy_(x.t() * 2)", "x[0] = 1.0",
                                  "x[0][1] = 2.0", "x[None] = 1.0", "x[0].uniform_()", "x[1:].fill_(0.0)",
                                  "x[:, 0].masked_fill_(x[:, 0] > 0, 0.0)", "x.unsqueeze(0).exp_()"])
def test_error_inplace_on_view_of_leaf(code):
    for lib in (ember, torch):
        x = lib.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match=LEAF_VIEW.replace(".", r"\.")):
            exec(code)


@pytest.mark.parametrize("code", ["x[:] = 0.0", "x[...] = 0.0", "x[[0]] = 1.0"])
def test_error_setitem_without_view_on_leaf(code):
    for lib in (ember, torch):
        x = lib.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an in-place"):
            exec(code)


MULTI = ("This view is the output of a function that returns multiple views. Such functions do not allow the "
         "output views to be modified inplace. You should replace the inplace operation by an out-of-place one.")


def message(lib, fn):
    with pytest.raises(RuntimeError) as info:
        fn(lib)
    return str(info.value)


def same_error(fn):
    e, t = message(ember, fn), message(torch, fn)
    assert e == t
    return e


@pytest.mark.parametrize("split,name", [(lambda y: y.unbind(0), "Unbind"), (lambda y: y.split(1), "Split"),
                                        (lambda y: y.chunk(3), "Split"),
                                        (lambda y: y.split([1, 2]), "SplitWithSizes")])
def test_error_multi_output_view_written(split, name):
    def direct(lib):
        x = lib.ones(3, 4, requires_grad=True)
        split(x * 1)[1].mul_(2)

    def indirect(lib):
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        parts = split(y)
        y.mul_(2)
        parts[0].sum()

    def view_of_output(lib):
        x = lib.ones(3, 4, requires_grad=True)
        split(x * 1)[0][0].add_(1)

    assert same_error(direct) == f"Output 1 of {name} is a view and is being modified inplace. {MULTI}"
    assert same_error(indirect) == (f"Output 0 of {name} is a view and its base or another view of its base has been "
                                    f"modified inplace. {MULTI}")
    assert same_error(view_of_output).startswith("Output 0 of Select is a view and is being modified inplace.")


def test_error_multi_output_view_of_base_without_grad():
    def fn(lib):
        w = lib.ones(4, requires_grad=True)
        lib.zeros(3, 4).unbind(0)[0].mul_(w)

    assert same_error(fn) == ("A view was created in no_grad mode and is being modified inplace with grad mode "
                              f"enabled. {MULTI}")


NO_GRAD_TAIL = ("Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by "
                "moving both the view and the inplace either both inside the no_grad block (if you don't want the "
                "inplace to be tracked) or both outside (if you want the inplace to be tracked).")


def test_error_view_made_in_no_grad_mode():
    def direct(lib):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with lib.no_grad():
            v = y[0]
        v.mul_(2)

    def view_of_it(lib):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with lib.no_grad():
            v = y[0]
        v[1:].mul_(2)

    def indirect(lib):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with lib.no_grad():
            v = y[0]
        y.mul_(2)
        v.grad_fn

    def value_requires_grad(lib):
        y = lib.zeros(3, 4)
        with lib.no_grad():
            v = y[0]
        v.copy_(lib.ones(4, requires_grad=True))

    assert same_error(direct) == ("A view was created in no_grad mode and is being modified inplace with grad mode "
                                  f"enabled. {NO_GRAD_TAIL}")
    assert same_error(view_of_it) == ("Output 0 of Slice is a view of a view which was created in no_grad mode and is "
                                      f"being modified inplace with grad mode enabled. {NO_GRAD_TAIL}")
    assert same_error(indirect) == ("A view was created in no_grad mode and its base or another view of its base has "
                                    f"been modified inplace with grad mode enabled. {NO_GRAD_TAIL}")
    assert same_error(value_requires_grad).startswith("A view was created in no_grad mode")


def test_no_grad_view_requires_grad_through_base_and_is_a_leaf():
    for lib in (ember, torch):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with lib.no_grad():
            v = y[0]
        assert v.requires_grad and v.is_leaf and v.grad_fn is None
        m = v * 2
        assert m.requires_grad and m.grad_fn.next_functions[0][0] is None
        m.sum().backward()
        assert v.grad is None


def test_error_view_written_in_no_grad_mode_then_used():
    def fn(lib):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with lib.no_grad():
            v = y[0]
            v.mul_(2)
        v.is_leaf

    assert same_error(fn).startswith("A view was created in no_grad mode and its base or another view of its base "
                                     "has been modified inplace")


def test_error_view_made_in_inference_mode():
    def fn(lib):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with lib.inference_mode():
            v = y[0]
        v.mul_(2)

    assert same_error(fn) == (
        "A view was created in inference mode and is being modified inplace in normal mode. Given that this use case "
        "is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view and the "
        "inplace either both inside the inference_mode block (if you don't want the inplace to be tracked) or both "
        "outside (if you want the inplace to be tracked).")


def test_error_writing_overlapping_view_with_grad():
    # torch raises this in backward; ember refuses the write itself, before any gradient is wrong.
    for lib in (ember, torch):
        x = lib.ones(1, 3, requires_grad=True)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                               "memory location"):
            y = x * 1
            y.expand(2, 3).fill_(2.0)
            y.sum().backward()
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        ember.zeros(1, 3).expand(2, 3).copy_(ember.ones(2, 3))


def test_error_saved_view_modified():
    def fn(lib):
        x = lib.ones(3, 4, requires_grad=True)
        y = x * 1
        v = y[0]
        s = v.sin()
        y.mul_(2)
        s.sum().backward()

    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=r"^one of the variables needed for gradient computation has been "
                                               r"modified by an inplace operation: \[(torch\.)?FloatTensor \[4\]\], "
                                               r"which is output 0 of AsStrided(Backward0)?, is at version 1; "
                                               r"expected version 0 instead"):
            fn(lib)


def test_error_detach_inplace_on_view():
    for lib in (ember, torch):
        y = lib.ones(3, 4, requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="Can't detach views in-place. Use detach\\(\\) instead."):
            y[0].detach_()
        with pytest.raises(RuntimeError, match="Can't detach views in-place"):
            lib.ones(3)[1:].detach_()
        assert y.detach_() is y and not y.requires_grad


def test_error_custom_function_marking_a_view_dirty_not_first():
    class Scale(ember.autograd.Function):
        @staticmethod
        def forward(ctx, s, a):
            a.mul_(s)
            ctx.mark_dirty(a)
            return a

        @staticmethod
        def backward(ctx, g):
            return None, g * 3

    y = ember.ones(2, 3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="a view modified in place \\(mark_dirty\\) must be the first tensor"):
        Scale.apply(ember.tensor(3.0), y[0])


def test_custom_function_marking_a_view_dirty():
    res = []
    for lib in (ember, torch):
        class Double(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                a.mul_(2)
                ctx.mark_dirty(a)
                return a

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 1
        v = y[0]
        assert Double.apply(v) is v
        assert node_name(y) == "CopySlices"
        (y * y).sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1])


# ---- random view chains ----------------------------------------------------------------------------
def apply_view_step(t, kind, a, b):
    """One view op chosen by (kind, a, b), applied the same way whatever the library."""
    nd = t.dim()
    if nd == 0 and kind != 3:
        return t
    if kind == 0:
        d = a % nd
        return t.select(d, b % t.shape[d])
    if kind == 1:
        d = a % nd
        start = b % t.shape[d]
        return t.narrow(d, start, 1 + (a // 7) % (t.shape[d] - start))
    if kind == 2:
        return t.transpose(a % nd, b % nd)
    if kind == 3:
        return t.unsqueeze(a % (nd + 1))
    if kind == 4:
        return t.movedim(a % nd, b % nd)
    return t[::2]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 10 ** 6), st.integers(0, 10 ** 6)), min_size=1,
                max_size=4), st.integers(0, 2))
def test_random_view_chain_write_matches_torch(steps, op):
    def prog(lib, x, w):
        y = x * 1
        v, wv = y, w
        for kind, a, b in steps:
            v, wv = apply_view_step(v, kind, a, b), apply_view_step(wv, kind, a, b)
        if op == 0:
            v.mul_(wv)
        elif op == 1:
            v.exp_()
        else:
            v.copy_(wv * 2)
        return y, v, y.sum() * v.sum()

    compare(prog, Z, Z + 1)


def test_error_view_of_overlapping_base_after_write():
    # The base's gradient cannot be laid out in its own memory when its elements share memory.
    arr = np.lib.stride_tricks.as_strided(np.zeros(3), shape=(2, 3), strides=(0, 8), writeable=True)
    b = ember.from_numpy(arr).requires_grad_()
    v = b[0]
    with ember.no_grad():
        b.zero_()
    with pytest.raises(RuntimeError, match=r"autograd through views of a tensor whose elements share memory "
                                           r"\(sizes \[2, 3\], strides \[0, 1\]\) is not supported"):
        v * 2


def test_op_results_made_from_internal_views_are_not_views():
    for lib in (ember, torch):
        x = lib.ones(2, 3)
        w = lib.ones(3, requires_grad=True)
        r = x.roll(1)
        assert r._base is None
        r.mul_(w)
        assert r.grad_fn.name() == "MulBackward0"
