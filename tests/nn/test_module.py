"""nn.Module against torch.nn.Module: registration, iteration, state dicts, modes, conversion,
hooks and repr, on the same custom module trees built with each library."""
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember import nn
from nn_helpers import EMBER, as_ember_text, both, copy_params, same_error


def shapes(sd):
    return [(k, tuple(v.shape)) for k, v in sd.items()]


# ---- repr -------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda lib, c: c.Net(),
    lambda lib, c: c.Block(3),
    lambda lib, c: c.Tanh(),
    lambda lib, c: c.Scale(2),
    lambda lib, c: c.Affine(2, 3, bias=False),
    lambda lib, c: lib.nn.Module(),
    lambda lib, c: lib.nn.Sequential(c.Affine(2, 2), lib.nn.Sequential(c.Tanh(), lib.nn.ModuleList())),
], ids=["net", "block", "no-extra", "multiline-extra", "one-line", "bare", "nested-sequential"])
def test_repr_matches_torch(build):
    t, e = both(build)
    assert repr(e) == as_ember_text(repr(t))
    assert str(e) == repr(e)


def test_repr_nested_indentation_exact():
    e = EMBER.Block(2)
    assert repr(e) == (
        "Block(\n"
        "  (fc): Affine(in_features=2, out_features=2, bias=True)\n"
        "  (scale): Scale(\n"
        "    2\n"
        "    scaled\n"
        "  )\n"
        "  (act): Tanh()\n"
        "  (missing): None\n"
        ")")


def test_extra_repr_and_get_name_defaults():
    m = nn.Module()
    assert m.extra_repr() == "" and m._get_name() == "Module"
    assert EMBER.Tanh()._get_name() == "Tanh"


# ---- registration through attributes ----------------------------------------------------

def test_setattr_registers_parameters_buffers_modules():
    def build(lib, c):
        m = lib.nn.Module()
        m.w = lib.nn.Parameter(lib.ones(2))
        m.register_buffer("b", lib.zeros(2))
        m.sub = c.Tanh()
        m.plain = 3
        m.t = lib.ones(1)  # a plain tensor attribute is not registered
        return m

    t, e = both(build)
    for m in (t, e):
        assert list(m._parameters) == ["w"] and list(m._buffers) == ["b"] and list(m._modules) == ["sub"]
        assert "plain" in m.__dict__ and "t" in m.__dict__
    assert e.w is e._parameters["w"] and e.b is e._buffers["b"] and e.sub is e._modules["sub"]


def test_reassigning_a_name_moves_it_between_kinds():
    def build(lib, c):
        m = lib.nn.Module()
        m.x = c.Tanh()
        m.x = lib.nn.Parameter(lib.ones(2))  # module -> parameter
        m.register_buffer("w", lib.ones(1))
        m.w = c.Tanh()          # buffer -> module
        m.y = 5
        m.y = lib.nn.Parameter(lib.ones(1))  # plain attribute -> parameter
        m.register_buffer("z", lib.ones(1))
        m.z = lib.zeros(3)      # buffer stays a buffer
        m.z2 = c.Tanh()
        m.z2 = None             # a module name can be set to None
        m.y = None              # and a parameter name too
        return m

    t, e = both(build)
    for m in (t, e):
        assert list(m._parameters) == ["x", "y"] and m.y is None
        assert list(m._modules) == ["w", "z2"] and m.z2 is None and "w" not in m._buffers
        assert "y" not in m.__dict__
        assert tuple(m.z.shape) == (3,) and "z" in m._buffers


def test_assigning_plain_tensor_to_parameter_name_raises():
    def fn(lib, c):
        m = c.Affine(2, 2)
        m.weight = lib.zeros(2, 2)
    same_error(fn)


def test_assigning_non_module_to_module_name_raises():
    def fn(lib, c):
        m = c.Block(2)
        m.fc = 3
    same_error(fn)


def test_assigning_non_tensor_to_buffer_name_raises():
    def fn(lib, c):
        m = c.Scale(2)
        m.running_mean = [1.0, 2.0]
    same_error(fn)


@pytest.mark.parametrize("fn", [
    lambda lib, c: lib.nn.Module().register_parameter("a.b", None),
    lambda lib, c: lib.nn.Module().register_parameter("", None),
    lambda lib, c: lib.nn.Module().register_parameter(1, None),
    lambda lib, c: lib.nn.Module().register_parameter("w", lib.ones(2)),
    lambda lib, c: lib.nn.Module().register_parameter("training", None),
    lambda lib, c: lib.nn.Module().register_buffer("a.b", None),
    lambda lib, c: lib.nn.Module().register_buffer("", None),
    lambda lib, c: lib.nn.Module().register_buffer(2.5, None),
    lambda lib, c: lib.nn.Module().register_buffer("b", 3),
    lambda lib, c: lib.nn.Module().register_buffer("forward", None),
    lambda lib, c: lib.nn.Module().add_module("a.b", None),
    lambda lib, c: lib.nn.Module().add_module("", None),
    lambda lib, c: lib.nn.Module().add_module(3, None),
    lambda lib, c: lib.nn.Module().add_module("m", 3),
    lambda lib, c: lib.nn.Module().add_module("train", None),
], ids=["p-dot", "p-empty", "p-name-type", "p-tensor", "p-exists", "b-dot", "b-empty", "b-name-type", "b-value",
        "b-exists", "m-dot", "m-empty", "m-name-type", "m-value", "m-exists"])
def test_registration_errors_match_torch(fn):
    same_error(fn)


def test_non_leaf_parameter_registration_raises():
    def fn(lib, c):
        p = lib.nn.Parameter(lib.ones(2))
        lib.nn.Module().register_parameter("w", p * 2)
    same_error(fn)  # a non-Parameter: TypeError

    def fn2(lib, c):
        q = lib.nn.Parameter(lib.ones(2), requires_grad=False)
        q.mul_(lib.ones(2, requires_grad=True))  # an in-place op gives the Parameter a history
        assert q.grad_fn is not None
        lib.nn.Module().register_parameter("w", q)
    same_error(fn2)


def test_assignment_before_init_raises():
    def make(lib, what):
        class Early(lib.nn.Module):
            def __init__(self):
                if what == "param":
                    self.w = lib.nn.Parameter(lib.ones(1))
                elif what == "module":
                    self.m = lib.nn.Module()
                else:
                    self.register_buffer("b", lib.ones(1))
                super().__init__()
        return Early()

    for what in ("param", "module", "buffer"):
        same_error(lambda lib, c: make(lib, what))
    assert make  # plain attributes before __init__ are fine in both
    for lib in (torch, ember):
        class Fine(lib.nn.Module):
            def __init__(self):
                self.x = 1
                super().__init__()
        assert Fine().x == 1


def test_getattr_error_message():
    same_error(lambda lib, c: c.Affine(1, 1).nope)


def test_delattr_removes_each_kind():
    def build(lib, c):
        m = c.Scale(2)
        m.sub = c.Tanh()
        m.plain = 1
        del m.weight, m.running_mean, m.scratch, m.sub, m.plain
        return m

    t, e = both(build)
    for m in (t, e):
        assert list(m._parameters) == [] and list(m._buffers) == ["steps"] and list(m._modules) == []
        assert "scratch" not in m._non_persistent_buffers_set and not hasattr(m, "plain")
    same_error(lambda lib, c: delattr(c.Tanh(), "nope"))


def test_module_init_rejects_arguments():
    same_error(lambda lib, c: lib.nn.Module(3))
    same_error(lambda lib, c: lib.nn.Module(x=3))


def test_forward_missing_raises():
    same_error(lambda lib, c: lib.nn.Module()(lib.ones(1)))


def test_dir_lists_members_without_digit_names():
    d = dir(EMBER.Scale(2))
    for name in ("weight", "running_mean", "scratch", "forward", "state_dict", "training"):
        assert name in d
    assert d == sorted(d)
    e = ember.nn.Sequential(EMBER.Scale(2))
    e.add_module("named", EMBER.Tanh())
    assert "0" not in dir(e) and "named" in dir(e)


# ---- submodule / parameter / buffer lookup ----------------------------------------------

def test_get_submodule_parameter_buffer():
    e = EMBER.Net()
    assert e.get_submodule("") is e
    assert e.get_submodule("blocks.1.fc") is e.blocks[1].fc
    assert e.get_parameter("blocks.0.fc.weight") is e.blocks[0].fc.weight
    assert e.get_parameter("inp.bias") is e.inp.bias
    assert e.get_buffer("extra.b.running_mean") is e.extra["b"].running_mean
    assert e.get_buffer("blocks.1.scale.scratch") is e.blocks[1].scale.scratch


@pytest.mark.parametrize("fn", [
    lambda m: m.get_submodule("blocks.7"),
    lambda m: m.get_submodule("inp.weight"),
    lambda m: m.get_parameter("inp.nope"),
    lambda m: m.get_parameter("blocks.0.scale.running_mean"),
    lambda m: m.get_parameter("nope.weight"),
    lambda m: m.get_buffer("inp.weight"),
    lambda m: m.get_buffer("extra.b.nope"),
])
def test_lookup_errors_match_torch(fn):
    same_error(lambda lib, c: fn(c.Net()))


def test_set_submodule():
    def build(lib, c):
        m = c.Net()
        m.set_submodule("blocks.0.act", c.Scale(4))
        m.set_submodule("newone", c.Tanh())
        return m

    t, e = both(build)
    assert repr(e) == as_ember_text(repr(t))
    same_error(lambda lib, c: c.Net().set_submodule("", c.Tanh()))
    same_error(lambda lib, c: c.Net().set_submodule("inp", 3))
    same_error(lambda lib, c: c.Net().set_submodule("inp.weight", c.Tanh()))
    same_error(lambda lib, c: c.Net().set_submodule("blocks.0.nope", c.Tanh(), strict=True))


# ---- iteration --------------------------------------------------------------------------

def shared_tree(lib, c):
    """A tree in which one module and one parameter appear twice."""
    shared = c.Affine(2, 2)
    m = lib.nn.Sequential(shared, c.Tanh(), shared, c.Block(2))
    m[3].fc.weight = shared.weight
    m.alias = m[3].scale
    return m


@pytest.mark.parametrize("method", ["named_parameters", "named_buffers", "named_modules"])
@pytest.mark.parametrize("kwargs", [{}, {"prefix": "model"}, {"remove_duplicate": False},
                                    {"prefix": "p", "remove_duplicate": False}])
def test_named_members_with_sharing_match_torch(method, kwargs):
    t, e = both(shared_tree)
    t_items = list(getattr(t, method)(**kwargs))
    e_items = list(getattr(e, method)(**kwargs))
    assert [n for n, _ in e_items] == [n for n, _ in t_items]
    # The same objects as attribute access gives.
    for name, obj in e_items:
        path = name[len(kwargs.get("prefix", "")):].lstrip(".")
        if method == "named_modules":
            assert obj is e.get_submodule(path)
        elif method == "named_parameters":
            assert obj is e.get_parameter(path)
        else:
            assert obj is e.get_buffer(path)


@pytest.mark.parametrize("method", ["named_parameters", "named_buffers"])
def test_named_members_recurse_false(method):
    t, e = both(lambda lib, c: c.Block(2))
    assert list(getattr(e, method)(recurse=False)) == []
    t2, e2 = both(lambda lib, c: c.Scale(2))
    assert [n for n, _ in getattr(e2, method)(recurse=False)] == [n for n, _ in getattr(t2, method)(recurse=False)]


def test_parameters_buffers_children_modules_match_torch():
    t, e = both(shared_tree)
    assert len(list(e.parameters())) == len(list(t.parameters())) == 4
    n_all = len(list(e.named_parameters(remove_duplicate=False)))
    assert n_all == len(list(t.named_parameters(remove_duplicate=False))) == 8
    assert all(isinstance(p, nn.Parameter) for p in e.parameters())
    assert [tuple(b.shape) for b in e.buffers()] == [tuple(b.shape) for b in t.buffers()]
    assert [type(m).__name__ for m in e.children()] == [type(m).__name__ for m in t.children()]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()] == ["0", "1", "3", "alias"]
    assert [type(m).__name__ for m in e.modules()] == [type(m).__name__ for m in t.modules()]
    assert list(e.parameters(recurse=False)) == []


# ---- state dict -------------------------------------------------------------------------

def test_state_dict_keys_and_shapes_match_torch():
    t, e = both(lambda lib, c: c.Net())
    tsd, esd = t.state_dict(), e.state_dict()
    assert isinstance(esd, OrderedDict)
    assert shapes(esd) == shapes(tsd)
    assert [v.dtype for v in esd.values()].count(ember.int64) == 3
    assert list(esd._metadata.keys()) == list(tsd._metadata.keys())
    assert all(v == {"version": 1} for v in esd._metadata.values())


def test_state_dict_values_are_detached_views_unless_keep_vars():
    e = EMBER.Affine(2, 2)
    sd = e.state_dict()
    assert not sd["weight"].requires_grad and type(sd["weight"]) is ember.Tensor
    sd["weight"].add_(1.0)  # shares storage with the parameter, as in torch
    np.testing.assert_array_equal(e.weight.detach().numpy(), np.ones((2, 2), np.float32))
    kv = e.state_dict(keep_vars=True)
    assert kv["weight"] is e.weight and kv["bias"] is e.bias


def test_state_dict_prefix_and_destination():
    t, e = both(lambda lib, c: c.Block(2))
    dest = OrderedDict(existing=1)
    out = e.state_dict(destination=dest, prefix="model.")
    assert out is dest
    assert list(out) == ["existing"] + list(t.state_dict(prefix="model."))
    with pytest.warns(FutureWarning):
        assert list(e.state_dict(OrderedDict(), "p.")) == list(t.state_dict(prefix="p."))


def test_state_dict_excludes_non_persistent_and_none():
    e = EMBER.Scale(3)
    e.register_buffer("gone", None)
    assert list(e.state_dict()) == ["weight", "running_mean", "steps"]


def test_load_state_dict_copies_in_place():
    t, e = both(lambda lib, c: c.Net())
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for v in t.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.from_numpy(rng.standard_normal(tuple(v.shape)).astype(np.float32)))
            else:
                v.fill_(7)
    before = {k: p for k, p in e.named_parameters()}
    result = e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, p in e.named_parameters():
        assert p is before[k] and p.requires_grad and p.grad_fn is None and p.is_leaf
    for (k, tv), (k2, ev) in zip(t.state_dict().items(), e.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(ev.numpy(), tv.numpy())
    assert e.blocks[0].scale.steps.item() == 7


def test_load_state_dict_converts_dtype_like_copy():
    e = EMBER.Affine(2, 1)
    e.load_state_dict({"weight": ember.tensor([[1.0, 2.0]], dtype=ember.float64), "bias": ember.tensor([3.0])})
    assert e.weight.dtype == ember.float32
    np.testing.assert_array_equal(e.weight.detach().numpy(), [[1.0, 2.0]])


def _bad_state(lib, c, strict=True):
    m = c.Net()
    sd = m.state_dict()
    sd["inp.weight"] = lib.zeros(5, 3)
    sd["blocks.0.scale.weight"] = lib.zeros(2, 2)
    del sd["head.0.weight"], sd["extra.b.steps"]
    sd["blocks.1.fc.extra"] = lib.zeros(1)
    sd["nothere.weight"] = lib.zeros(1)
    sd["blocks.5"] = lib.zeros(1)
    return m.load_state_dict(sd, strict=strict)


def test_load_state_dict_strict_error_message_matches_torch():
    err = same_error(_bad_state)
    msg = str(err)
    assert msg.startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: ")
    assert "size mismatch for inp.weight: copying a param with shape ember.Size([5, 3]) from checkpoint, " \
           "the shape in current model is ember.Size([4, 3])." in msg


def test_load_state_dict_non_strict_reports_keys_and_still_raises_on_size():
    same_error(lambda lib, c: _bad_state(lib, c, strict=False))

    def lenient(lib, c):
        m = c.Net()
        sd = m.state_dict()
        del sd["head.0.weight"]
        sd["foo"] = lib.zeros(1)
        sd["blocks.0.fc.bar"] = lib.zeros(1)
        return m.load_state_dict(sd, strict=False)

    t, e = both(lenient)
    assert e.missing_keys == t.missing_keys == ["head.0.weight"]
    assert e.unexpected_keys == t.unexpected_keys == ["foo", "blocks.0.fc.bar"]
    assert repr(e) == repr(t)


@pytest.mark.parametrize("fn", [
    lambda lib, c: c.Affine(2, 2).load_state_dict([1, 2]),
    lambda lib, c: c.Affine(2, 2).load_state_dict({"weight": [[0.0, 0.0], [0.0, 0.0]], "bias": lib.zeros(2)}),
    lambda lib, c: c.Affine(2, 2).load_state_dict({"bias": lib.zeros(2)}),
    lambda lib, c: c.Affine(2, 2).load_state_dict({"weight": lib.zeros(2, 2), "bias": lib.zeros(2),
                                                   "zeta": lib.zeros(1), "alpha": lib.zeros(1)}),
])
def test_load_state_dict_errors_match_torch(fn):
    same_error(fn)


def test_load_state_dict_copy_failure_is_reported():
    # Copying a float into an integer buffer fails in both libraries as they cannot cast in place;
    # here a 0-dim buffer gets a 1-element vector, which both accept (old checkpoint format).
    def fn(lib, c):
        m = c.Scale(2)
        sd = m.state_dict()
        sd["steps"] = lib.tensor([5])
        m.load_state_dict(sd)
        return m.steps

    t, e = both(fn)
    assert tuple(e.shape) == () and e.item() == t.item() == 5


def test_load_state_dict_assign():
    def fn(lib, c):
        m = c.Scale(2)
        m.weight.requires_grad_(False)
        w = lib.tensor([3.0, 4.0], dtype=lib.float64)
        rm = lib.tensor([1.0, 1.0])
        m.load_state_dict({"weight": w, "running_mean": rm, "steps": lib.tensor(2)}, assign=True)
        return m, w, rm

    (tm, tw, trm), (em, ew, erm) = both(fn)
    assert isinstance(em.weight, nn.Parameter) and em.weight.requires_grad == tm.weight.requires_grad
    assert em.weight.dtype == ember.float64 and tm.weight.dtype == torch.float64
    assert em.weight.data_ptr() == ew.data_ptr()
    assert em.running_mean is erm and (tm.running_mean is trm)


def test_state_dict_and_load_hooks():
    calls = []
    e = EMBER.Block(2)
    e.register_state_dict_pre_hook(lambda m, prefix, keep_vars: calls.append(("pre", prefix)))
    h = e.register_state_dict_post_hook(lambda m, sd, prefix, meta: calls.append(("post", len(sd))))
    e.state_dict(prefix="x.")
    assert calls == [("pre", "x."), ("post", 5)]
    h.remove()
    e.register_state_dict_post_hook(lambda m, sd, prefix, meta: {})
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        e.state_dict()

    e2 = EMBER.Affine(1, 1)
    seen = []
    e2.register_load_state_dict_pre_hook(lambda m, sd, prefix, *rest: seen.append(("pre", m is e2, sorted(sd))))
    e2.register_load_state_dict_post_hook(lambda m, keys: keys.missing_keys.clear())
    res = e2.load_state_dict({"weight": ember.ones(1, 1)})
    assert res.missing_keys == [] and seen == [("pre", True, ["weight"])]


def test_extra_state_round_trip():
    def build(lib, c):
        class WithExtra(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.value = 1

            def get_extra_state(self):
                return {"value": self.value}

            def set_extra_state(self, state):
                self.value = state["value"]

        m = lib.nn.Sequential(WithExtra())
        sd = m.state_dict()
        sd["0._extra_state"] = {"value": 42}
        m.load_state_dict(sd)
        return m, list(sd)

    (tm, tkeys), (em, ekeys) = both(build)
    assert ekeys == tkeys == ["0._extra_state"]
    assert em[0].value == tm[0].value == 42
    same_error(lambda lib, c: build(lib, c)[0].load_state_dict({}))
    same_error(lambda lib, c: c.Tanh().load_state_dict({"_extra_state": 1}))


# ---- modes, gradients, apply ------------------------------------------------------------

def test_train_eval_propagate():
    e = EMBER.Net()
    assert all(m.training for m in e.modules())
    assert e.eval() is e
    assert not any(m.training for m in e.modules())
    e.blocks.train()
    assert e.blocks[1].act.training and not e.training and not e.inp.training
    assert e.train() is e and all(m.training for m in e.modules())
    same_error(lambda lib, c: c.Net().train("yes"))


def test_apply_visits_children_first():
    def run(lib, c):
        order = []
        m = c.Net()
        assert m.apply(lambda mod: order.append(type(mod).__name__)) is m
        return order

    t, e = both(run)
    assert e == t


def test_requires_grad_and_zero_grad():
    e = EMBER.Block(3)
    assert e.requires_grad_(False) is e
    assert not any(p.requires_grad for p in e.parameters())
    e.requires_grad_()
    x = ember.ones(2, 3)
    assert e(x).sum().requires_grad
    e(x).sum().backward()
    grads = [p.grad for p in e.parameters()]
    assert all(g is not None for g in grads)
    e.zero_grad(set_to_none=False)
    for p, g in zip(e.parameters(), grads):
        assert p.grad is g and not g.requires_grad
        np.testing.assert_array_equal(g.numpy(), np.zeros(tuple(g.shape)))
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())


def test_forward_and_backward_match_torch():
    t, e = both(lambda lib, c: c.Net())
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in t.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    copy_params(t, e)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    ty, ey = t(tx), e(ex)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    ty.sum().backward()
    ey.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    for (n, tp), (n2, ep) in zip(t.named_parameters(), e.named_parameters()):
        assert n == n2
        if tp.grad is None:  # extra.* is not used by forward
            assert ep.grad is None and n.startswith("extra.")
        else:
            np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6)


# ---- conversion -------------------------------------------------------------------------

def _with_grads(lib, c):
    m = c.Scale(2)
    m(lib.ones(2)).sum().backward()
    return m


@pytest.mark.parametrize("convert", [
    lambda m, lib: m.double(),
    lambda m, lib: m.to(lib.float64),
    lambda m, lib: m.to(dtype=lib.float64),
    lambda m, lib: m.to("cpu", lib.float64),
    lambda m, lib: m.to(lib.zeros(1, dtype=lib.float64)),
])
def test_double_converts_in_place_keeping_identity(convert):
    def run(lib, c):
        m = _with_grads(lib, c)
        w, g, steps = m.weight, m.weight.grad, m.steps
        assert convert(m, lib) is m
        return m, w, g, steps

    (tm, tw, tg, tsteps), (em, ew, eg, esteps) = both(run)
    assert em.weight is ew and type(em.weight) is nn.Parameter and em.weight.requires_grad
    assert em.weight.grad is eg
    for m, lib in ((tm, torch), (em, ember)):
        assert m.weight.dtype == lib.float64 and m.weight.grad.dtype == lib.float64
        assert m.running_mean.dtype == lib.float64 and m.scratch.dtype == lib.float64
        assert m.steps.dtype == lib.int64  # integer buffers keep their dtype
    np.testing.assert_array_equal(em.weight.grad.numpy(), tm.weight.grad.numpy())
    em.float()
    assert em.weight is ew and em.weight.dtype == ember.float32 and em.weight.grad.dtype == ember.float32


def test_type_converts_every_tensor():
    def run(lib, c):
        return c.Scale(2).type(lib.float64)

    t, e = both(run)
    assert e.steps.dtype == ember.float64 and t.steps.dtype == torch.float64
    assert isinstance(e.weight, nn.Parameter)
    assert ember.nn.Module().type("ember.DoubleTensor") is not None
    with pytest.raises(ValueError, match="invalid type"):
        ember.nn.Module().type("ember.HalfTensor")


def test_to_cpu_and_errors():
    e = EMBER.Scale(2)
    w = e.weight
    assert e.to("cpu") is e and e.cpu() is e and e.to(ember.device("cpu")) is e and e.weight is w
    assert e.weight.dtype == ember.float32
    same_error(lambda lib, c: c.Scale(2).to(lib.int64))
    with pytest.raises(RuntimeError, match="cuda"):
        e.to("cuda")
    with pytest.raises(RuntimeError, match="cuda"):
        e.cuda()
    with pytest.raises(NotImplementedError, match="float16"):
        e.half()
    with pytest.raises(NotImplementedError, match="bfloat16"):
        e.bfloat16()


# ---- forward hooks ----------------------------------------------------------------------

def test_forward_hooks_order_and_effects():
    def run(lib, c):
        log = []
        m = c.Tanh()
        m.register_forward_pre_hook(lambda mod, args: log.append("pre1") or (args[0] * 2,))
        m.register_forward_pre_hook(lambda mod, args: log.append("pre2") or args[0] + 1)  # non-tuple wrapped
        m.register_forward_pre_hook(lambda mod, args: log.append("pre0"), prepend=True)
        m.register_forward_hook(lambda mod, args, out: log.append(("fwd1", round(float(args[0].sum()), 4))))
        m.register_forward_hook(lambda mod, args, out: out * 10)
        m.register_forward_hook(lambda mod, args, out: log.append("fwd0"), prepend=True)
        y = m(lib.tensor([0.1, 0.2]))
        return log, y.tolist()

    (tlog, ty), (elog, ey) = both(run)
    assert elog == tlog == ["pre0", "pre1", "pre2", "fwd0", ("fwd1", 2.6)]
    np.testing.assert_allclose(ey, ty, rtol=1e-6)


def test_forward_hooks_with_kwargs():
    def run(lib, c):
        class KW(lib.nn.Module):
            def forward(self, x, scale=1.0):
                return x * scale

        m = KW()
        m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": kwargs["scale"] + 1}),
                                    with_kwargs=True)
        seen = []
        m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs["scale"]) or out + 1,
                                with_kwargs=True)
        return m(lib.tensor([1.0]), scale=2.0).tolist(), seen

    t, e = both(run)
    assert e == t == ([4.0], [3.0])

    def bad(lib, c):
        m = c.Tanh()
        m.register_forward_pre_hook(lambda mod, args, kwargs: args, with_kwargs=True)
        m(lib.ones(1))
    err = same_error(bad)
    assert "forward pre-hook must return None or a tuple of (new_args, new_kwargs)" in str(err)


def test_hook_handles_remove():
    e = EMBER.Tanh()
    log = []
    h1 = e.register_forward_pre_hook(lambda m, a: log.append(1))
    h2 = e.register_forward_hook(lambda m, a, o: log.append(2), with_kwargs=False, always_call=True)
    e(ember.ones(1))
    h1.remove()
    h1.remove()  # removing twice is harmless
    with h2:
        e(ember.ones(1))
    e(ember.ones(1))
    assert log == [1, 2, 2]
    assert not e._forward_hooks and not e._forward_hooks_always_called and not e._forward_pre_hooks
    assert isinstance(h1, ember.utils.hooks.RemovableHandle) and h2.id > h1.id


def test_forward_hook_always_call_runs_when_forward_raises():
    def run(lib, c):
        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        m = Boom()
        log = []
        m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)
        m.register_forward_hook(lambda mod, args, out: log.append("normal"))
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
        return log

    t, e = both(run)
    assert e == t == [("always", None)]


# ---- full backward hooks ----------------------------------------------------------------

def _two_io(lib):
    class TwoIO(lib.nn.Module):
        def forward(self, x, y, tag="t", k=3):
            return x * 2, y * 3, 5

    return TwoIO()


def _grads_list(gs):
    return [None if g is None else g.tolist() for g in gs]


def test_full_backward_hook_grad_input_output_match_torch():
    def run(lib, c):
        m = _two_io(lib)
        log = []
        m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", _grads_list(go))))
        m.register_full_backward_hook(lambda mod, gi, go: log.append(("hook", _grads_list(gi), _grads_list(go))))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = lib.tensor([3.0, 4.0], requires_grad=True)
        a, b, k = m(x, y, "tag")
        assert a.grad_fn.name() == "BackwardHookFunctionBackward"
        (a * lib.tensor([1.0, 10.0])).sum().backward()
        return log, x.grad.tolist(), y.grad.tolist()

    t, e = both(run)
    assert e == t
    assert e[0][1] == ("hook", [[2.0, 20.0], [0.0, 0.0], None], [[1.0, 10.0], None, None])


def test_full_backward_hook_mixed_inputs_match_torch():
    def run(lib, c):
        m = _two_io(lib)
        log = []
        m.register_full_backward_hook(lambda mod, gi, go: log.append((_grads_list(gi), _grads_list(go))))
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        a, b, _ = m(x, lib.tensor([1.0, 1.0]))
        assert not b.requires_grad
        (a.sum() * 2).backward()
        return log, x.grad.tolist()

    t, e = both(run)
    assert e == t


def test_full_backward_hooks_replace_gradients():
    def run(lib, c):
        m = c.Affine(2, 2)
        with lib.no_grad():
            m.weight.fill_(1.0)
        m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0] + 100,))
        x = lib.ones(1, 2, requires_grad=True)
        m(x).sum().backward()
        return x.grad.tolist(), m.weight.grad.tolist()

    t, e = both(run)
    assert e == t == ([[106.0, 106.0]], [[3.0, 3.0], [3.0, 3.0]])


def test_full_backward_hook_order_and_removal():
    e = EMBER.Tanh()
    log = []
    h = e.register_full_backward_hook(lambda m, gi, go: log.append("hook"))
    e.register_full_backward_hook(lambda m, gi, go: log.append("first"), prepend=True)
    e.register_full_backward_pre_hook(lambda m, go: log.append("pre"))
    e.register_full_backward_pre_hook(lambda m, go: log.append("pre-first"), prepend=True)
    e(ember.ones(2, requires_grad=True)).sum().backward()
    assert log == ["pre-first", "pre", "first", "hook"]
    h.remove()
    log.clear()
    e(ember.ones(2, requires_grad=True)).sum().backward()
    assert log == ["pre-first", "pre", "first"]


def test_full_backward_hook_when_no_input_requires_grad():
    def run(lib, c):
        m = c.Affine(2, 1)
        log = []
        m.register_full_backward_hook(lambda mod, gi, go: log.append((gi, _grads_list(go))))
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m(lib.ones(3, 2)).sum().backward()
        assert any("no inputs require gradients" in str(x.message) for x in w)
        return log

    t, e = both(run)
    assert e == t == [((None,), [[[1.0], [1.0], [1.0]]])]

    def bad(lib, c):
        m = c.Affine(2, 1)
        m.register_full_backward_hook(lambda mod, gi, go: (lib.ones(1),))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m(lib.ones(3, 2)).sum().backward()
    same_error(bad)


def test_full_backward_hook_wrong_number_of_gradients():
    def bad_hook(lib, c):
        m = c.Tanh()
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        m(lib.ones(2, requires_grad=True)).sum().backward()

    def bad_pre(lib, c):
        m = c.Tanh()
        m.register_full_backward_pre_hook(lambda mod, go: ())
        m(lib.ones(2, requires_grad=True)).sum().backward()

    assert "invalid number of grad_input, got 2, but expected 1" in str(same_error(bad_hook))
    assert "invalid number of grad_output, got 0, but expected 1" in str(same_error(bad_pre))


def test_backward_hooks_in_a_sequential_fire_last_layer_first():
    def run(lib, c):
        log = []
        m = lib.nn.Sequential(c.Affine(2, 2), c.Tanh(), c.Affine(2, 1))
        for i, layer in enumerate(m):
            layer.register_full_backward_hook(lambda mod, gi, go, i=i: log.append((i, _grads_list(go))))
        m(lib.ones(1, 2, requires_grad=True)).sum().backward()
        return log

    t, e = both(run)
    assert [i for i, _ in e] == [2, 1, 0]
    assert e == t


def test_no_backward_hook_setup_under_no_grad():
    e = EMBER.Tanh()
    e.register_full_backward_hook(lambda m, gi, go: None)
    with ember.no_grad():
        y = e(ember.ones(2, requires_grad=True))
    assert y.grad_fn is None


def test_deprecated_register_backward_hook_is_not_supported():
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        EMBER.Tanh().register_backward_hook(lambda *a: None)


def test_deepcopy_of_a_module_with_parameters():
    import copy
    e = ember.nn.Sequential(EMBER.Affine(2, 3), EMBER.Tanh())
    e[0].weight.data.add_(1.0)
    hook_calls = []
    e.register_forward_hook(lambda m, a, o: hook_calls.append(1))
    c = copy.deepcopy(e)
    assert repr(c) == repr(e) and c[0] is not e[0]
    assert c[0].weight is not e[0].weight and isinstance(c[0].weight, nn.Parameter)
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), e[0].weight.detach().numpy())
    e[0].weight.data.add_(1.0)
    np.testing.assert_array_equal(c[0].weight.detach().numpy(), np.ones((3, 2), np.float32))
    c(ember.ones(1, 2))
    assert hook_calls == [1]  # hooks are copied with the module, as in torch


def test_to_rejects_other_devices_and_arguments():
    e = EMBER.Tanh()
    with pytest.raises(RuntimeError, match="cuda"):
        e.to(0)
    with pytest.raises(RuntimeError, match="cuda"):
        e.to(device="cuda:1")
    with pytest.raises(TypeError, match="to\\(\\) received an invalid combination of arguments"):
        e.to([1])
