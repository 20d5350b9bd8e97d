"""Layers against torch with the same weights: outputs and gradients of inputs and parameters,
repr, state_dict keys and shapes, default initialisation statistics and errors."""
import math
import re

import numpy as np
import pytest
import torch

import ember
from oracle import same_error
from nn_helpers import copy_params

rng = np.random.RandomState(0)


def randn(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


# (class name, constructor args, kwargs, input builders) for every layer, with default and
# non-default arguments; inputs are numpy arrays (floats get gradients).
LAYERS = [
    ("Linear", (3, 4), {}, lambda: [randn(5, 3)]),
    ("Linear", (3, 4), {"bias": False}, lambda: [randn(2, 5, 3)]),
    ("Linear", (3, 2), {"dtype": "float64"}, lambda: [randn(3, dtype=np.float64)]),
    ("Bilinear", (2, 3, 4), {}, lambda: [randn(5, 2), randn(5, 3)]),
    ("Bilinear", (2, 3, 4), {"bias": False}, lambda: [randn(2, 5, 2), randn(2, 5, 3)]),
    ("Identity", (), {}, lambda: [randn(2, 3)]),
    ("Identity", (3,), {"unused": 1}, lambda: [randn(2, 3)]),
    ("Flatten", (), {}, lambda: [randn(2, 3, 4, 5)]),
    ("Flatten", (0, 2), {}, lambda: [randn(2, 3, 4, 5)]),
    ("Unflatten", (1, (2, 3)), {}, lambda: [randn(4, 6, 2)]),
    ("Unflatten", (-1, [2, -1]), {}, lambda: [randn(4, 6)]),
    ("Embedding", (10, 3), {}, lambda: [np.array([[1, 2, 9], [4, 4, 0]])]),
    ("Embedding", (10, 3), {"padding_idx": 4}, lambda: [np.array([[1, 2, 9], [4, 4, 0]])]),
    ("Embedding", (10, 3), {"padding_idx": -1, "scale_grad_by_freq": True}, lambda: [np.array([9, 9, 1])]),
    ("Embedding", (10, 3), {"max_norm": 1.0, "norm_type": 3.0}, lambda: [np.array([1, 2, 1])]),
    ("EmbeddingBag", (10, 3), {}, lambda: [np.array([1, 2, 4, 5, 4]), np.array([0, 2])]),
    ("EmbeddingBag", (10, 3), {"mode": "sum", "padding_idx": 4}, lambda: [np.array([[1, 2], [4, 4]])]),
    ("EmbeddingBag", (10, 3), {"mode": "max"}, lambda: [np.array([1, 2, 4, 5, 4]), np.array([0, 2])]),
    ("EmbeddingBag", (10, 3), {"mode": "sum", "include_last_offset": True, "max_norm": 2.0},
     lambda: [np.array([1, 2, 4, 5, 4]), np.array([0, 2, 5])]),
    ("LayerNorm", (4,), {}, lambda: [randn(3, 4) * 2 + 1]),
    ("LayerNorm", ((3, 4),), {"eps": 1e-3, "elementwise_affine": False}, lambda: [randn(2, 3, 4)]),
    ("LayerNorm", ([4],), {"bias": False}, lambda: [randn(2, 3, 4)]),
]


def build(lib, name, args, kwargs):
    kwargs = dict(kwargs)
    if "dtype" in kwargs:
        kwargs["dtype"] = getattr(lib, kwargs["dtype"])
    return getattr(lib.nn, name)(*args, **kwargs)


def _ids(spec):
    return f"{spec[0]}{spec[1]}{spec[2] or ''}"


def run_both(name, args, kwargs, arrays, randomise=True):
    """Builds both layers, copies (randomised) torch parameters into ember, runs forward and
    backward with the same upstream gradient; returns [(output, input grads, param grads)]."""
    t_mod = build(torch, name, args, kwargs)
    if randomise:
        with torch.no_grad():
            for p in t_mod.parameters():
                p.copy_(torch.randn(p.shape, dtype=p.dtype))
    e_mod = build(ember, name, args, kwargs)
    copy_params(t_mod, e_mod)
    results = []
    for L, mod in ((ember, e_mod), (torch, t_mod)):
        ins = [L.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        out = mod(*ins)
        upstream = np.random.RandomState(1).standard_normal(tuple(out.shape)).astype(arrays[0].dtype
                                                                                    if arrays[0].dtype.kind == "f"
                                                                                    else np.float32)
        if out.requires_grad:
            out.backward(L.tensor(upstream))
        results.append((out.detach().numpy(), [i.grad.numpy() for i in ins if i.requires_grad],
                        {k: p.grad.numpy() for k, p in mod.named_parameters() if p.grad is not None},
                        {k: v.detach().numpy() for k, v in mod.state_dict().items()}))
    return results


@pytest.mark.parametrize("spec", LAYERS, ids=_ids)
def test_forward_backward_against_torch(spec):
    name, args, kwargs, make_inputs = spec
    (oe, ie, pe, se), (ot, it, pt, st_) = run_both(name, args, kwargs, make_inputs())
    np.testing.assert_allclose(oe, ot, rtol=1e-5, atol=1e-5)
    for a, b in zip(ie, it):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert sorted(pe) == sorted(pt)
    for k in pe:
        np.testing.assert_allclose(pe[k], pt[k], rtol=1e-5, atol=1e-5, err_msg=k)
    for k in se:  # parameters after the call (max_norm renormalises in place)
        np.testing.assert_allclose(se[k], st_[k], rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("spec", LAYERS, ids=_ids)
def test_repr_and_state_dict(spec):
    name, args, kwargs, _ = spec
    e, t = build(ember, name, args, kwargs), build(torch, name, args, kwargs)
    assert repr(e) == repr(t)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    for (k, v), (_, w) in zip(e.state_dict().items(), t.state_dict().items()):
        assert str(v.dtype).split(".")[1] == str(w.dtype).split(".")[1], k


def test_reprs_inside_containers():
    def net(L):
        return L.nn.Sequential(L.nn.Linear(784, 512), L.nn.ReLU(), L.nn.Identity(), L.nn.LayerNorm(512),
                               L.nn.Linear(512, 10, bias=False), L.nn.GELU("tanh"), L.nn.LogSoftmax(dim=1))
    assert repr(net(ember)) == repr(net(torch))


# ---- default initialisation --------------------------------------------------------------------------

def test_linear_default_init_bounds_and_spread():
    ember.manual_seed(0)
    m = ember.nn.Linear(400, 300)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) and the bias bound coincide
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound and abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() > 0.9 * bound and b.std() > 0.5 * bound / math.sqrt(3)
    assert m.weight.requires_grad and m.bias.requires_grad
    assert isinstance(m.weight, ember.nn.Parameter)


def test_bilinear_default_init():
    ember.manual_seed(0)
    m = ember.nn.Bilinear(50, 20, 30)
    bound = 1 / math.sqrt(50)
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound


def test_embedding_default_init():
    ember.manual_seed(0)
    m = ember.nn.Embedding(1000, 64, padding_idx=3)
    w = m.weight.detach().numpy()
    assert np.all(w[3] == 0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01
    bag = ember.nn.EmbeddingBag(1000, 16, padding_idx=-1).weight.detach().numpy()
    assert np.all(bag[999] == 0) and abs(bag[:999].std() - 1) < 0.03


def test_layernorm_default_init_and_dtype():
    m = ember.nn.LayerNorm((2, 3), dtype=ember.float64)
    assert np.all(m.weight.detach().numpy() == 1) and np.all(m.bias.detach().numpy() == 0)
    assert m.weight.dtype == ember.float64
    assert ember.nn.LayerNorm(3, elementwise_affine=False).weight is None


def test_init_is_reproducible_with_seed():
    ember.manual_seed(5)
    a = ember.nn.Linear(3, 4).weight.detach().numpy().copy()
    ember.manual_seed(5)
    assert np.array_equal(a, ember.nn.Linear(3, 4).weight.detach().numpy())


def test_reset_parameters_draws_again():
    m = ember.nn.Linear(8, 8)
    before = m.weight.detach().numpy().copy()
    m.reset_parameters()
    assert not np.array_equal(before, m.weight.detach().numpy())


# ---- specific behaviour ----------------------------------------------------------------------------------

def test_embedding_padding_row_gets_no_gradient_and_stays_zero():
    m = ember.nn.Embedding(5, 2, padding_idx=1)
    out = m(ember.tensor([[1, 1, 2]]))
    assert np.all(out.detach().numpy()[0, :2] == 0)
    out.sum().backward()
    g = m.weight.grad.numpy()
    assert np.all(g[1] == 0) and np.all(g[2] == 1) and np.all(g[[0, 3, 4]] == 0)


def test_embedding_from_pretrained():
    w = randn(4, 3)
    for freeze in (True, False):
        e = ember.nn.Embedding.from_pretrained(ember.tensor(w), freeze=freeze, padding_idx=2)
        t = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=freeze, padding_idx=2)
        assert repr(e) == repr(t) and e.weight.requires_grad == t.weight.requires_grad
        np.testing.assert_array_equal(e(ember.tensor([2, 0])).detach().numpy(), t(torch.tensor([2, 0])).detach().numpy())
    shared = ember.tensor(w)
    e = ember.nn.Embedding.from_pretrained(shared)
    with ember.no_grad():
        shared[0, 0] = 42.0
    assert e.weight[0, 0].item() == 42.0
    b = ember.nn.EmbeddingBag.from_pretrained(ember.tensor(w), mode="max", freeze=False)
    tb = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), mode="max", freeze=False)
    assert repr(b) == repr(tb) and b.weight.requires_grad
    np.testing.assert_allclose(b(ember.tensor([[0, 1]])).detach().numpy(), tb(torch.tensor([[0, 1]])).detach().numpy())


def test_embedding_bag_per_sample_weights_module():
    w, idx, off, psw = randn(6, 3), np.array([1, 2, 4, 5]), np.array([0, 3]), randn(4)
    res = []
    for L in (ember, torch):
        m = L.nn.EmbeddingBag(6, 3, mode="sum")
        with (L.no_grad()):
            m.weight.copy_(L.tensor(w))
        p = L.tensor(psw, requires_grad=True)
        y = m(L.tensor(idx), L.tensor(off), per_sample_weights=p)
        y.sum().backward()
        res.append((y.detach().numpy(), p.grad.numpy(), m.weight.grad.numpy()))
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_lazy_linear_becomes_linear():
    ember.manual_seed(0)
    m = ember.nn.LazyLinear(4)
    assert repr(m) == repr(torch.nn.LazyLinear(4))
    assert isinstance(m.weight, ember.nn.UninitializedParameter) and m.has_uninitialized_params()
    y = m(ember.tensor(randn(2, 7)))
    assert type(m) is ember.nn.Linear and m.in_features == 7 and tuple(y.shape) == (2, 4)
    assert repr(m) == "Linear(in_features=7, out_features=4, bias=True)"
    assert type(m.weight) is ember.nn.Parameter and tuple(m.weight.shape) == (4, 7)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(7)
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]
    # an optimizer built after the first call sees the materialised parameters
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    m(ember.tensor(randn(2, 7))).sum().backward()
    before = m.weight.detach().numpy().copy()
    opt.step()
    assert not np.array_equal(before, m.weight.detach().numpy())
    m2 = ember.nn.LazyLinear(3, bias=False)
    m2(ember.tensor(randn(5, 2)))
    assert m2.bias is None and tuple(m2.weight.shape) == (3, 2)


def test_lazy_linear_loads_state_dict():
    src = ember.nn.Linear(5, 3)
    m = ember.nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    np.testing.assert_array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    x = ember.tensor(randn(2, 5))
    np.testing.assert_allclose(m(x).detach().numpy(), src(x).detach().numpy())
    assert type(m) is ember.nn.Linear


def test_uninitialized_parameter_refuses_shape():
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter"):
        ember.nn.LazyLinear(3).weight.shape


def test_layers_compose_into_a_trainable_mlp():
    # The benchmark MLP's pattern (Linear/ReLU stack, sigmoid head): three SGD steps match torch.
    sizes = [20, 16, 8, 4]
    x, target = randn(6, 20), randn(6, 4)

    def build_net(L):
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            layers.append(L.nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(L.nn.ReLU())
        return L.nn.Sequential(*layers, L.nn.Sigmoid())

    nets = {torch: build_net(torch), ember: build_net(ember)}
    copy_params(nets[torch], nets[ember])
    res = []
    for L, net in nets.items():
        opt = L.optim.SGD(net.parameters(), lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            loss = ((net(L.tensor(x)) - L.tensor(target)) ** 2).mean()
            loss.backward()
            opt.step()
        res.append([p.detach().numpy() for p in net.parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_dropout_module_error():
    for p in (-0.1, 1.1):
        with pytest.raises(ValueError, match=re.escape(f"dropout probability has to be between 0 and 1, but got {p}")):
            ember.nn.Dropout(p)


def test_dropout_module_train_and_eval():
    m = ember.nn.Dropout(0.5)
    assert repr(m) == repr(torch.nn.Dropout(0.5))
    x = ember.ones(10000)
    y = m(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.45 < (y == 0).mean() < 0.55
    m.eval()
    assert np.array_equal(m(x).numpy(), x.numpy())


# ---- errors ----------------------------------------------------------------------------------------------



def test_linear_wrong_feature_size_names_the_layer():
    torch_msg = "mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)"
    with pytest.raises(RuntimeError, match=re.escape(torch_msg)):
        torch.nn.Linear(5, 2)(torch.ones(4, 3))
    with pytest.raises(RuntimeError, match=re.escape(torch_msg)) as err:
        ember.nn.Linear(5, 2)(ember.ones(4, 3))
    assert "Linear(in_features=5, out_features=2, bias=True)" in str(err.value)
    with pytest.raises(RuntimeError, match=re.escape("(8x3 and 5x2)")):
        ember.nn.Linear(5, 2)(ember.ones(2, 4, 3))


@pytest.mark.parametrize("fn", [
    lambda L: L.nn.Linear(5, 2)(L.ones(())),
    lambda L: L.nn.Bilinear(2, 3, 4)(L.ones(5, 2), L.ones(5, 4)),
    lambda L: L.nn.Bilinear(2, 3, 4)(L.ones(5, 2), L.ones(4, 3)),
    lambda L: L.nn.Embedding(5, 3)(L.tensor([5])),
    lambda L: L.nn.Embedding(5, 3)(L.tensor([-1])),
    lambda L: L.nn.Embedding(5, 3)(L.tensor([1.0])),
    lambda L: L.nn.Embedding(5, 3, padding_idx=5),
    lambda L: L.nn.Embedding(5, 3, padding_idx=-6),
    lambda L: L.nn.Embedding(5, 3, _weight=L.ones(4, 3)),
    lambda L: L.nn.Embedding.from_pretrained(L.ones(5)),
    lambda L: L.nn.EmbeddingBag(5, 3, padding_idx=5),
    lambda L: L.nn.EmbeddingBag(5, 3)(L.tensor([1, 2])),
    lambda L: L.nn.EmbeddingBag(5, 3)(L.tensor([1, 9]), L.tensor([0])),
    lambda L: L.nn.EmbeddingBag(5, 3, mode="foo")(L.tensor([1, 2]), L.tensor([0])),
    lambda L: L.nn.LayerNorm(4)(L.ones(2, 3)),
    lambda L: L.nn.LayerNorm((2, 3))(L.ones(3, 2)),
    lambda L: L.nn.Unflatten(1, (2, 2))(L.ones(2, 3)),
    lambda L: L.nn.Unflatten(1, 4),
    lambda L: L.nn.Unflatten(1, (2, 2.0)),
    lambda L: L.nn.Flatten(2)(L.ones(2, 3)),
])
def test_errors_match_torch(fn):
    same_error(fn)


def test_embedding_sparse_is_not_implemented():
    m = ember.nn.Embedding(5, 3, sparse=True)
    assert repr(m) == repr(torch.nn.Embedding(5, 3, sparse=True))
    with pytest.raises(NotImplementedError, match="sparse gradients are not supported"):
        m(ember.tensor([1]))
