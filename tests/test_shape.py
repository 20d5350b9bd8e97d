"""Shape and view ops against torch: values, gradients, graph node names, storage sharing, errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from oracle import check, gradcheck_fd


def arr(*shape, dtype=np.float32):
    return np.random.randn(*shape).astype(dtype)


# (id, op, input shapes). Every op is run on contiguous and on transposed (non-contiguous)
# inputs, forward and backward, and gradchecked in float64.
CASES = [
    ("reshape_flat", lambda lib, x: x.reshape(-1), [(2, 3, 4)]),
    ("reshape_split", lambda lib, x: x.reshape(3, 2, 4), [(2, 3, 4)]),
    ("reshape_fn", lambda lib, x: lib.reshape(x, (4, -1)), [(2, 3, 4)]),
    ("reshape_as", lambda lib, x: x.reshape_as(lib.ones(6, 4)), [(2, 3, 4)]),
    ("expand", lambda lib, x: x.expand(2, 3, 4), [(3, 1)]),
    ("expand_keep", lambda lib, x: x.expand(-1, 5), [(3, 1)]),
    ("expand_as", lambda lib, x: x.expand_as(lib.ones(2, 3, 4)), [(1, 4)]),
    ("permute", lambda lib, x: x.permute(2, 0, 1), [(2, 3, 4)]),
    ("permute_fn", lambda lib, x: lib.permute(x, (-1, 0, 1)), [(2, 3, 4)]),
    ("transpose", lambda lib, x: x.transpose(0, 2), [(2, 3, 4)]),
    ("transpose_fn", lambda lib, x: lib.transpose(x, -1, 0), [(2, 3, 4)]),
    ("swapaxes", lambda lib, x: x.swapaxes(0, 1), [(2, 3, 4)]),
    ("swapdims", lambda lib, x: lib.swapdims(x, 1, 2), [(2, 3, 4)]),
    ("t", lambda lib, x: x.t(), [(3, 4)]),
    ("t_fn", lambda lib, x: lib.t(x), [(3, 4)]),
    ("T", lambda lib, x: x.T, [(3, 4)]),
    ("mT", lambda lib, x: x.mT, [(2, 3, 4)]),
    ("movedim", lambda lib, x: x.movedim(0, -1), [(2, 3, 4)]),
    ("movedim_multi", lambda lib, x: lib.movedim(x, (0, 1), (2, 0)), [(2, 3, 4)]),
    ("moveaxis", lambda lib, x: lib.moveaxis(x, 2, 0), [(2, 3, 4)]),
    ("unsqueeze", lambda lib, x: x.unsqueeze(1), [(3, 4)]),
    ("unsqueeze_neg", lambda lib, x: lib.unsqueeze(x, -1), [(3, 4)]),
    ("squeeze_all", lambda lib, x: x.squeeze(), [(1, 3, 1, 4)]),
    ("squeeze_dim", lambda lib, x: x.squeeze(2), [(1, 3, 1, 4)]),
    ("squeeze_tuple", lambda lib, x: lib.squeeze(x, (0, 2)), [(1, 3, 1, 4)]),
    ("squeeze_non1", lambda lib, x: x.squeeze(1), [(1, 3, 1, 4)]),
    ("flatten", lambda lib, x: x.flatten(), [(2, 3, 4)]),
    ("flatten_tail", lambda lib, x: x.flatten(1), [(2, 3, 4)]),
    ("flatten_fn", lambda lib, x: lib.flatten(x, 0, 1), [(2, 3, 4)]),
    ("unflatten", lambda lib, x: x.unflatten(2, (2, 2)), [(2, 3, 4)]),
    ("unflatten_infer", lambda lib, x: lib.unflatten(x, -1, (-1, 2)), [(2, 3, 4)]),
    ("narrow", lambda lib, x: x.narrow(1, 1, 2), [(2, 3, 4)]),
    ("narrow_neg", lambda lib, x: lib.narrow(x, -1, -2, 2), [(2, 3, 4)]),
    ("select", lambda lib, x: x.select(1, 2), [(2, 3, 4)]),
    ("select_neg", lambda lib, x: lib.select(x, -1, -1), [(2, 3, 4)]),
    ("chunk", lambda lib, x: x.chunk(3, 1), [(2, 3, 4)]),
    ("chunk_uneven", lambda lib, x: lib.chunk(x, 3, -1), [(2, 3, 5)]),
    ("split_int", lambda lib, x: x.split(2, -1), [(2, 3, 5)]),
    ("split_list", lambda lib, x: lib.split(x, [1, 3, 1], 2), [(2, 3, 5)]),
    ("unbind", lambda lib, x: x.unbind(1), [(2, 3, 4)]),
    ("unbind_fn", lambda lib, x: lib.unbind(x), [(2, 3, 4)]),
    ("tensor_split_n", lambda lib, x: x.tensor_split(3, 2), [(2, 3, 5)]),
    ("tensor_split_idx", lambda lib, x: lib.tensor_split(x, [1, 4, 10], -1), [(2, 3, 5)]),
    ("cat", lambda lib, x, y: lib.cat([x, y], 1), [(2, 3, 4), (2, 2, 4)]),
    ("cat_last", lambda lib, x, y: lib.cat((x, y, x), -1), [(2, 3), (2, 5)]),
    ("concat", lambda lib, x, y: lib.concat([x, y]), [(2, 3), (4, 3)]),
    ("stack", lambda lib, x, y: lib.stack([x, y]), [(2, 3), (2, 3)]),
    ("stack_last", lambda lib, x, y: lib.stack([x, y, x], dim=-1), [(2, 3), (2, 3)]),
    ("hstack", lambda lib, x, y: lib.hstack([x, y]), [(2, 3), (2, 4)]),
    ("vstack", lambda lib, x, y: lib.vstack([x, y]), [(2, 3), (1, 3)]),
    ("repeat", lambda lib, x: x.repeat(2, 1, 3), [(2, 3, 4)]),
    ("repeat_newdims", lambda lib, x: x.repeat((2, 2, 1, 1)), [(3, 4)]),
    ("tile", lambda lib, x: x.tile((2,)), [(3, 4)]),
    ("tile_fn", lambda lib, x: lib.tile(x, (2, 1, 2)), [(3, 4)]),
    ("flip", lambda lib, x: x.flip(0), [(2, 3, 4)]),
    ("flip_multi", lambda lib, x: lib.flip(x, (0, 2)), [(2, 3, 4)]),
    ("roll", lambda lib, x: x.roll(1, 0), [(2, 3, 4)]),
    ("roll_multi", lambda lib, x: lib.roll(x, (1, -2), (1, 2)), [(2, 3, 4)]),
    ("roll_flat", lambda lib, x: x.roll(5), [(2, 3, 4)]),
    ("contiguous", lambda lib, x: x.contiguous(), [(3, 4)]),
]


@pytest.mark.parametrize("noncontig", [False, True], ids=["contig", "noncontig"])
@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_shape_op_matches_torch(name, fn, shapes, noncontig):
    check(fn, *[arr(*s) for s in shapes], noncontig=noncontig)


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_shape_op_gradcheck(name, fn, shapes):
    gradcheck_fd(fn, *[np.random.randn(*s) for s in shapes])


@pytest.mark.parametrize("name,fn,shapes", CASES, ids=[c[0] for c in CASES])
def test_shape_op_node_names_match_torch(name, fn, shapes):
    arrays = [arr(*s) for s in shapes]
    outs = []
    for lib in (ember, torch):
        ins = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, *ins)
        out = out if isinstance(out, (tuple, list)) else [out]
        outs.append([o.grad_fn.name() if o.grad_fn is not None else None for o in out])
    assert outs[0] == outs[1]


def test_view_dim_inference_and_scalar():
    check(lambda lib, x: (x.view(-1), x.view(4, -1, 3), x.view(24), x.view((2, 12))), arr(2, 3, 4))
    scalar = arr(1)  # made 0-d inside the op so that both libraries start from the same 0-d tensor
    check(lambda lib, x: (x.view(()).view(-1), x.view([]).view([]), x.view(()).view(1, 1), x.view(()).reshape(1),
                          x.view(()).flatten(), x.view(()).t(), x.view(()).unsqueeze(0),
                          x.view(()).squeeze(0), x.view(()).squeeze(-1), x.view(()).expand(3, 2),
                          x.view(()).repeat(2), x.view(()).flip(0), x.view(()).roll(1)), scalar)
    check(lambda lib, x: (x.view(-1), x.view(0, 5), x.reshape(5, 0, 2)), arr(0, 5), grad=False)


def test_reshape_of_noncontiguous_copies_and_viewable_one_shares():
    base = ember.tensor(arr(3, 4))
    flat = base.t().reshape(-1)  # not viewable: a copy
    flat.fill_(0.0)
    assert np.all(base.numpy() != 0)
    v = base.reshape(2, 6)
    v.fill_(1.0)
    assert np.all(base.numpy() == 1)
    assert v.data_ptr() == base.data_ptr()


def test_flatten_of_single_dim_returns_input_like_torch():
    x = ember.tensor(arr(2, 3))
    assert x.flatten(1, 1) is x
    assert x.flatten(0, 0) is x
    assert x.expand(2, 3) is not x and x.view_as(x) is not x and x.squeeze() is not x


# Each view op, applied to a zero base; writing position-dependent values through the view must
# change the same elements of the base as in torch.
VIEW_WRITES = [
    ("view", lambda lib, x: x.view(4, 6)),
    ("view_as", lambda lib, x: x.view_as(lib.ones(6, 4))),
    ("reshape", lambda lib, x: x.reshape(-1)),
    ("expand_src", lambda lib, x: x.narrow(0, 0, 1).expand(2, 3, 4).select(0, 1)),
    ("permute", lambda lib, x: x.permute(1, 2, 0)),
    ("transpose", lambda lib, x: x.transpose(0, 1)),
    ("T", lambda lib, x: x.select(0, 1).T),
    ("mT", lambda lib, x: x.mT),
    ("movedim", lambda lib, x: x.movedim(2, 0)),
    ("unsqueeze", lambda lib, x: x.unsqueeze(1)),
    ("squeeze", lambda lib, x: x.unsqueeze(0).squeeze(0)),
    ("flatten", lambda lib, x: x.flatten(1)),
    ("unflatten", lambda lib, x: x.unflatten(2, (2, 2))),
    ("narrow", lambda lib, x: x.narrow(2, 1, 2)),
    ("select", lambda lib, x: x.select(1, 1)),
    ("chunk", lambda lib, x: x.chunk(2, 2)[1]),
    ("split", lambda lib, x: x.split([1, 2], 1)[1]),
    ("unbind", lambda lib, x: x.unbind(2)[3]),
    ("tensor_split", lambda lib, x: x.tensor_split([1, 3], 2)[1]),
    ("t_of_select", lambda lib, x: x.select(0, 1).t()),
]


@pytest.mark.parametrize("name,fn", VIEW_WRITES, ids=[c[0] for c in VIEW_WRITES])
def test_writing_through_view_changes_base(name, fn):
    bases = {}
    for lib in (ember, torch):
        base = lib.zeros(2, 3, 4)
        v = fn(lib, base)
        vals = np.arange(1, v.numel() + 1, dtype=np.float32).reshape(tuple(v.shape))
        v.copy_(lib.tensor(vals))
        bases[lib.__name__] = base.numpy().copy()
    assert bases["ember"].any()
    np.testing.assert_array_equal(bases["ember"], bases["torch"])


def test_chunk_gradient_when_only_some_outputs_are_used():
    a = arr(4, 6)
    check(lambda lib, x: x.chunk(3, 1)[1] * 2, a)
    check(lambda lib, x: x.split([2, 1, 3], 1)[2].exp(), a)
    check(lambda lib, x: x.unbind(0)[3], a)
    # explicitly: gradient reaches only the used piece, zeros elsewhere
    x = ember.tensor(a, requires_grad=True)
    p0, p1 = x.split(3, 1)
    (p1 * 3).sum().backward()
    g = x.grad.numpy()
    np.testing.assert_array_equal(g[:, :3], 0)
    np.testing.assert_array_equal(g[:, 3:], 3)


def test_second_derivative_through_shape_ops():
    a = np.random.randn(3, 4)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        parts = x.chunk(2, 1)
        y = lib.cat([parts[1], parts[0]], 0).flip(0).roll(1, 1).narrow(0, 1, 4).repeat(2, 1)
        y = lib.stack(y.unbind(0)).select(1, 1)
        g, = lib.autograd.grad((y * y * y).sum(), x, create_graph=True)
        g2, = lib.autograd.grad((g * g).sum(), x)
        res.append((g.detach().numpy(), g2.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-10)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-10)


def test_cat_promotes_and_skips_empty_1d():
    i = np.arange(6).reshape(2, 3)
    f = arr(2, 3)
    check(lambda lib, x, y: lib.cat([x, y]), i, f)
    check(lambda lib, x, y: lib.cat([x, y], 1), f, f.astype(np.float64))
    check(lambda lib, x: lib.cat([x, lib.ones(0)], 1), f)
    check(lambda lib, x: lib.cat([lib.zeros(0, dtype=lib.float64), x]), f)
    check(lambda lib, x: lib.cat([x, lib.zeros(0, 3)]), f)
    check(lambda lib: lib.cat([lib.zeros(0), lib.zeros(0)], dim=1))
    check(lambda lib: lib.cat([lib.ones(2, dtype=lib.bool), lib.ones(2, dtype=lib.uint8)]))
    check(lambda lib, x, y: lib.stack([x, y]), i, f)


def test_cat_gradient_to_skipped_empty_input():
    res = []
    for lib in (ember, torch):
        e = lib.zeros(0, requires_grad=True)
        x = lib.ones(2, 3, requires_grad=True)
        (lib.cat([e, x]) * 2).sum().backward()
        res.append((tuple(e.grad.shape), x.grad.numpy()))
    assert res[0][0] == res[1][0]
    np.testing.assert_array_equal(res[0][1], res[1][1])


def test_integer_and_bool_shape_ops():
    i = np.arange(24).reshape(2, 3, 4)
    b = i % 3 == 0
    for a in (i, b, i.astype(np.uint8)):
        check(lambda lib, x: (x.flip(1), x.roll(2, 2), x.repeat(1, 2, 1), lib.cat([x, x], 2), lib.stack([x, x], 1),
                              x.mT.reshape(-1), x.chunk(2, 2), x.narrow(1, 1, 1)), a)


def test_zero_size_shape_ops():
    z = arr(2, 0, 3)
    check(lambda lib, x: (x.flip(1), x.roll(1, 1), x.repeat(2, 1, 1), x.split(1, 2), x.chunk(2, 1), x.flatten(),
                          x.unbind(1), lib.cat([x, x], 1), x.narrow(2, 1, 2), x.permute(1, 0, 2)), z)
    check(lambda lib: lib.ones(0).chunk(3))
    check(lambda lib: lib.ones(0, 2).split(0))


def test_chunk_split_count_rules():
    for n in range(0, 8):
        for c in range(1, 6):
            a = arr(n)
            check(lambda lib, x: x.chunk(c), a, grad=False)
            check(lambda lib, x: x.tensor_split(c), a, grad=False)
            if c <= max(n, 1) and n:
                check(lambda lib, x: x.split(c), a, grad=False)


def test_size_object():
    x = ember.zeros(2, 3)
    assert x.shape == (2, 3)
    assert x.size() == (2, 3)
    assert x.size(-1) == 3 and x.size(0) == 2
    assert isinstance(x.shape, tuple) and isinstance(x.shape, ember.Size)
    assert repr(x.shape) == "ember.Size([2, 3])"
    assert x.shape[1:] == (3,) and isinstance(x.shape[1:], ember.Size)
    assert x.shape.numel() == 6
    assert ember.zeros(*x.shape).shape == x.shape
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        x.size(2)


def test_tensor_split_with_tensor_argument():
    a = arr(3, 7)
    check(lambda lib, x: x.tensor_split(lib.tensor([1, 5]), 1), a)
    check(lambda lib, x: x.tensor_split(lib.tensor([3]).reshape(()), 1), a)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_reshape_view_round_trip(shape, data):
    a = np.random.randn(*shape).astype(np.float32)
    n = a.size
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    d = data.draw(st.sampled_from(divisors))
    perm = data.draw(st.permutations(range(len(shape))))
    x = ember.tensor(a)
    v = x.view(d, -1)
    assert v.data_ptr() == x.data_ptr()
    np.testing.assert_array_equal(v.view(*shape).numpy(), a)
    np.testing.assert_array_equal(x.view(-1).numpy(), a.reshape(-1))
    p = x.permute(*perm)
    np.testing.assert_array_equal(p.numpy(), a.transpose(perm))
    r = p.reshape(d, -1)
    np.testing.assert_array_equal(r.numpy(), a.transpose(perm).reshape(d, -1))
    np.testing.assert_array_equal(r.reshape(p.shape).permute(*np.argsort(perm)).numpy(), a)
    try:
        pv = p.view(-1)
    except RuntimeError as e:
        assert "view size is not compatible" in str(e)
        with pytest.raises(RuntimeError):
            torch.tensor(a).permute(*perm).view(-1)
    else:
        np.testing.assert_array_equal(pv.numpy(), a.transpose(perm).reshape(-1))
        assert torch.tensor(a).permute(*perm).view(-1).shape == tuple(pv.shape)


# (op, exception type, message regex) for every error path; the same call raises in torch too.
ERRORS = [
    (lambda lib, x: x.view(5, -1), RuntimeError, r"shape '\[5, -1\]' is invalid for input of size 24"),
    (lambda lib, x: x.view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda lib, x: x.view(-2, 12), RuntimeError, r"invalid shape dimension -2 at index 0 of shape \[-2, 12\]"),
    (lambda lib, x: x.mT.view(-1), RuntimeError, "view size is not compatible with input tensor's size and stride"),
    (lambda lib, x: lib.zeros(0, 3).view(-1, 0), RuntimeError, "unspecified dimension size -1 can be any value"),
    (lambda lib, x: x.reshape(5, -1), RuntimeError, r"shape '\[5, -1\]' is invalid for input of size 24"),
    (lambda lib, x: x.view(7), RuntimeError, r"shape '\[7\]' is invalid for input of size 24"),
    (lambda lib, x: x.expand(3, 3, 4), RuntimeError,
     r"The expanded size of the tensor \(3\) must match the existing size \(2\) at non-singleton dimension 0"),
    (lambda lib, x: x.expand(3, 4), RuntimeError, r"the number of sizes provided \(2\) must be greater or equal"),
    (lambda lib, x: x.expand(-1, 2, 3, 4), RuntimeError, r"isn't allowed in a leading, non-existing dimension 0"),
    (lambda lib, x: x.expand_as(lib.ones(2, 4)), RuntimeError, "must be greater or equal to the number of dim"),
    (lambda lib, x: x.permute(0, 1), RuntimeError, r"input.dim\(\) = 3 is not equal to len\(dims\) = 2"),
    (lambda lib, x: x.permute(0, 1, 1), RuntimeError, "duplicate dims are not allowed"),
    (lambda lib, x: x.permute(0, 1, 3), IndexError, r"expected to be in range of \[-3, 2\], but got 3"),
    (lambda lib, x: x.transpose(0, 3), IndexError, r"expected to be in range of \[-3, 2\], but got 3"),
    (lambda lib, x: x.t(), RuntimeError, r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda lib, x: lib.ones(3).mT, RuntimeError, "tensor.mT is only supported on matrices or batches of matrices"),
    (lambda lib, x: x.unsqueeze(4), IndexError, r"expected to be in range of \[-4, 3\], but got 4"),
    (lambda lib, x: x.squeeze(3), IndexError, r"expected to be in range of \[-3, 2\], but got 3"),
    (lambda lib, x: x.squeeze((0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda lib, x: x.flatten(2, 1), RuntimeError, "start_dim cannot come after end_dim"),
    (lambda lib, x: x.flatten(0, 3), IndexError, r"expected to be in range of \[-3, 2\], but got 3"),
    (lambda lib, x: x.unflatten(1, (2, 2)), RuntimeError,
     r"unflatten: Provided sizes \[2, 2\] don't multiply up to the size of dim 1 \(3\) in the input tensor"),
    (lambda lib, x: x.unflatten(2, (3, -1)), RuntimeError, r"Provided sizes \[3, -1\] don't multiply up"),
    (lambda lib, x: x.unflatten(2, ()), RuntimeError, "unflatten: sizes must be non-empty"),
    (lambda lib, x: x.narrow(1, 2, 2), RuntimeError, r"start \(2\) \+ length \(2\) exceeds dimension size \(3\)"),
    (lambda lib, x: x.narrow(1, 0, -1), RuntimeError, "length must be non-negative"),
    (lambda lib, x: x.narrow(1, 4, 0), IndexError, r"start out of range \(expected to be in range of \[-3, 3\], but got 4\)"),
    (lambda lib, x: x.narrow(1, -4, 0), IndexError, r"but got -4"),
    (lambda lib, x: lib.ones(()).narrow(0, 0, 1), RuntimeError, "cannot be applied to a 0-dim tensor"),
    (lambda lib, x: x.select(1, 3), IndexError, r"index 3 out of range for tensor of size \[2, 3, 4\] at dimension 1"),
    (lambda lib, x: x.select(1, -4), IndexError, r"index -4 out of range"),
    (lambda lib, x: lib.ones(()).select(0, 0), IndexError, "cannot be applied to a 0-dim tensor"),
    (lambda lib, x: x.chunk(0, 1), RuntimeError, "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda lib, x: x.chunk(2, 5), IndexError, "Dimension out of range"),
    (lambda lib, x: x.split(0, 1), RuntimeError, "split_size can only be 0 if dimension size is 0"),
    (lambda lib, x: x.split(-1, 1), RuntimeError, "split expects split_size be non-negative, but got split_size=-1"),
    (lambda lib, x: x.split([1, 1], 1), RuntimeError,
     r"split_with_sizes expects split_sizes to sum exactly to 3 \(input tensor's size at dimension 1\)"),
    (lambda lib, x: x.split([4, -1], 1), RuntimeError, "split_sizes have only non-negative entries"),
    (lambda lib, x: lib.ones(()).unbind(), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
    (lambda lib, x: x.unbind(3), IndexError, "Dimension out of range"),
    (lambda lib, x: x.tensor_split(0, 1), RuntimeError, "number of sections must be larger than 0, got 0"),
    (lambda lib, x: lib.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda lib, x: lib.cat([x, lib.ones(2, 4, 4)], 2), RuntimeError,
     r"Sizes of tensors must match except in dimension 2. Expected size 3 but got size 4 for tensor number 1 in the list"),
    (lambda lib, x: lib.cat([x, lib.ones(2, 3)]), RuntimeError, "Tensors must have same number of dimensions: got 3 and 2"),
    (lambda lib, x: lib.cat([lib.ones(()), lib.ones(())]), RuntimeError,
     r"zero-dimensional tensor \(at position 0\) cannot be concatenated"),
    (lambda lib, x: lib.cat([x, x], 3), IndexError, r"expected to be in range of \[-3, 2\], but got 3"),
    (lambda lib, x: lib.cat(x), TypeError, "must be tuple of Tensors, not Tensor"),
    (lambda lib, x: lib.stack([x, lib.ones(2, 4, 4)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3, 4\] at entry 0 and \[2, 4, 4\] at entry 1"),
    (lambda lib, x: lib.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda lib, x: lib.stack([x, x], 4), IndexError, r"expected to be in range of \[-4, 3\], but got 4"),
    (lambda lib, x: x.repeat(2, 2), RuntimeError, "Number of dimensions of repeat dims can not be smaller"),
    (lambda lib, x: x.repeat(2, -1, 2), RuntimeError, "negative dimension -3"),
    (lambda lib, x: x.flip(0, 0), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda lib, x: x.flip(3), IndexError, "Dimension out of range"),
    (lambda lib, x: x.roll((1, 2), (0,)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:1"),
    (lambda lib, x: x.roll((1, 2)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:0"),
    (lambda lib, x: x.roll((), ()), RuntimeError, "`shifts` required"),
    (lambda lib, x: x.movedim((0, 0), (1, 2)), RuntimeError, r"movedim: repeated dim in `source` \(\[0, 0\]\)"),
    (lambda lib, x: x.movedim((0, 1), (2, 2)), RuntimeError, r"movedim: repeated dim in `destination`"),
    (lambda lib, x: x.movedim((0, 1), (1,)), RuntimeError, r"source \(\[0, 1\] dims\) should contain the same number"),
]


@pytest.mark.parametrize("fn,exc,msg", ERRORS)
def test_shape_errors(fn, exc, msg):
    a = arr(2, 3, 4)
    with pytest.raises(exc, match=msg):
        fn(ember, ember.tensor(a))
    with pytest.raises(exc):
        fn(torch, torch.tensor(a))
