"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict against torch."""
from collections import OrderedDict

import numpy as np
import pytest

import ember
from ember import nn
from nn_helpers import as_ember_text, both, same_error


def names(m):
    return list(m._modules.keys())


def same_repr(t, e):
    assert repr(e) == as_ember_text(repr(t))


def seq(lib, c, n=4):
    return lib.nn.Sequential(*[c.Affine(i + 1, i + 2) for i in range(n)])


# ---- Sequential -------------------------------------------------------------------------

def test_sequential_construction_and_repr():
    t, e = both(lambda lib, c: seq(lib, c))
    assert names(e) == names(t) == ["0", "1", "2", "3"]
    same_repr(t, e)
    t, e = both(lambda lib, c: lib.nn.Sequential(OrderedDict([("first", c.Tanh()), ("second", c.Scale(2))])))
    assert names(e) == names(t) == ["first", "second"]
    same_repr(t, e)
    t, e = both(lambda lib, c: lib.nn.Sequential())
    same_repr(t, e)
    assert len(e) == 0


def test_sequential_forward_chains_modules():
    def run(lib, c):
        m = lib.nn.Sequential(c.Affine(2, 3), c.Tanh(), c.Affine(3, 1))
        with lib.no_grad():
            m[0].weight.fill_(0.5)
            m[2].weight.fill_(-1.0)
            m[2].bias.fill_(0.25)
        return m(lib.tensor([[1.0, 2.0], [0.0, -1.0]])).tolist()

    t, e = both(run)
    np.testing.assert_allclose(e, t, rtol=1e-6)


@pytest.mark.parametrize("idx", [0, 2, -1, -4])
def test_sequential_int_indexing(idx):
    t, e = both(lambda lib, c: seq(lib, c))
    assert e[idx] is e._modules[names(e)[idx]]
    assert e[idx].in_features == t[idx].in_features


@pytest.mark.parametrize("idx", [4, -5])
def test_sequential_index_out_of_range(idx):
    same_error(lambda lib, c: seq(lib, c)[idx])
    same_error(lambda lib, c: seq(lib, c).__setitem__(idx, c.Tanh()))
    same_error(lambda lib, c: seq(lib, c).__delitem__(idx))


@pytest.mark.parametrize("sl", [slice(1, 3), slice(None, None, -1), slice(-2, None), slice(0, 4, 2), slice(5, 9)])
def test_sequential_slicing_returns_sequential(sl):
    t, e = both(lambda lib, c: seq(lib, c)[sl])
    assert type(e) is nn.Sequential
    assert names(e) == names(t)
    same_repr(t, e)
    full = seq(ember, __import__("nn_helpers").EMBER)
    part = full[sl]
    assert all(any(m is f for f in full) for m in part)  # slices hold the same module objects


def test_sequential_setitem_delitem_pop_renumber():
    def run(lib, c):
        m = seq(lib, c, 5)
        m[1] = c.Tanh()
        m[-1] = c.Scale(2)
        del m[0]
        del m[1:3]
        popped = m.pop(0)
        return m, popped

    (t, tp), (e, ep) = both(run)
    assert names(e) == names(t)
    same_repr(t, e)
    assert type(ep).__name__ == type(tp).__name__ == "Tanh"


def test_sequential_append_insert_extend():
    def run(lib, c):
        m = lib.nn.Sequential(c.Tanh())
        assert m.append(c.Affine(1, 1)) is m
        m.insert(0, c.Scale(3))
        m.insert(-1, c.Affine(2, 2))
        m.insert(len(m), c.Tanh())
        assert m.extend([c.Affine(5, 5), c.Tanh()]) is m
        return m

    t, e = both(run)
    assert names(e) == names(t)
    same_repr(t, e)
    same_error(lambda lib, c: lib.nn.Sequential(c.Tanh()).insert(3, c.Tanh()))
    same_error(lambda lib, c: lib.nn.Sequential(c.Tanh()).insert(-3, c.Tanh()))
    same_error(lambda lib, c: lib.nn.Sequential(c.Tanh()).insert(0, 3))


def test_sequential_len_iter_add_mul():
    def run(lib, c):
        a = lib.nn.Sequential(c.Tanh(), c.Affine(1, 2))
        b = lib.nn.Sequential(c.Scale(2))
        s = a + b
        a += b
        return s, a, b * 2, 2 * b

    t, e = both(run)
    for tm, em in zip(t, e):
        assert len(em) == len(tm)
        assert [type(x).__name__ for x in em] == [type(x).__name__ for x in tm]
        same_repr(tm, em)
    s, a, b2, _ = e
    assert s[2] is a[2] and b2[0] is b2[1]
    same_error(lambda lib, c: lib.nn.Sequential() + [c.Tanh()])
    same_error(lambda lib, c: lib.nn.Sequential() * 0)
    same_error(lambda lib, c: lib.nn.Sequential() * 1.5)


def test_sequential_registers_parameters():
    t, e = both(lambda lib, c: seq(lib, c, 2))
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(e.state_dict()) == list(t.state_dict())


# ---- ModuleList -------------------------------------------------------------------------

def test_module_list_basic_operations():
    def run(lib, c):
        m = lib.nn.ModuleList([c.Tanh(), c.Affine(1, 1)])
        m.append(c.Scale(2))
        m.extend([c.Tanh()])
        m += [c.Affine(2, 2)]
        m.insert(1, c.Scale(3))
        m[0] = c.Affine(3, 3)
        m[-1] = c.Tanh()
        del m[2]
        popped = m.pop(-2)
        return m, popped

    (t, tp), (e, ep) = both(run)
    assert names(e) == names(t) and len(e) == len(t)
    same_repr(t, e)
    assert type(ep).__name__ == type(tp).__name__
    assert [type(x).__name__ for x in e] == [type(x).__name__ for x in t]


def test_module_list_indexing_and_slicing():
    t, e = both(lambda lib, c: lib.nn.ModuleList([c.Affine(i + 1, 1) for i in range(5)]))
    assert e[-1] is e._modules["4"] and e[1].in_features == 2
    for sl in (slice(1, 4), slice(None, None, 2), slice(None, None, -1)):
        assert type(e[sl]) is nn.ModuleList
        assert [m.in_features for m in e[sl]] == [m.in_features for m in t[sl]]
        same_repr(t[sl], e[sl])
    same_error(lambda lib, c: lib.nn.ModuleList([c.Tanh()])[1])
    same_error(lambda lib, c: lib.nn.ModuleList([c.Tanh()])[-2])
    same_error(lambda lib, c: lib.nn.ModuleList().extend(3))
    same_error(lambda lib, c: lib.nn.ModuleList([3]))

    def delete_slice(lib, c):
        m = lib.nn.ModuleList([c.Affine(i + 1, 1) for i in range(5)])
        del m[1:4]
        return m

    t, e = both(delete_slice)
    assert names(e) == names(t) == ["0", "1"]
    same_repr(t, e)


def test_module_list_add_returns_new_list():
    t, e = both(lambda lib, c: lib.nn.ModuleList([c.Tanh()]) + lib.nn.ModuleList([c.Scale(2), c.Tanh()]))
    same_repr(t, e)
    assert len(e) == 3


@pytest.mark.parametrize("build", [
    lambda lib, c: lib.nn.ModuleList(),
    lambda lib, c: lib.nn.ModuleList([c.Tanh()]),
    lambda lib, c: lib.nn.ModuleList([c.Tanh(), c.Tanh(), c.Affine(1, 1), c.Affine(1, 1), c.Affine(2, 1),
                                      c.Scale(2), c.Scale(2), c.Tanh()]),
    lambda lib, c: lib.nn.ModuleList([c.Block(2) for _ in range(3)]),
    lambda lib, c: lib.nn.Sequential(lib.nn.ModuleList([c.Scale(2), c.Scale(2)])),
], ids=["empty", "one", "runs", "nested-runs", "inside-sequential"])
def test_module_list_repr_groups_repeats(build):
    t, e = both(build)
    same_repr(t, e)


# ---- ModuleDict -------------------------------------------------------------------------

def test_module_dict_operations():
    def run(lib, c):
        d = lib.nn.ModuleDict({"z": c.Tanh(), "a": c.Affine(1, 2)})
        d["m"] = c.Scale(2)
        d.update([("p", c.Tanh()), ("q", c.Affine(2, 2))])
        d.update(OrderedDict([("z", c.Scale(1))]))
        popped = d.pop("a")
        del d["p"]
        return d, popped

    (t, tp), (e, ep) = both(run)
    assert list(e.keys()) == list(t.keys()) == ["z", "m", "q"]
    assert list(e) == list(e.keys()) and "m" in e and "a" not in e and len(e) == 3
    assert [type(v).__name__ for v in e.values()] == [type(v).__name__ for v in t.values()]
    assert [k for k, _ in e.items()] == ["z", "m", "q"]
    same_repr(t, e)
    assert type(ep).__name__ == "Affine"
    e.clear()
    assert len(e) == 0 and list(e.named_modules()) == [("", e)]


@pytest.mark.parametrize("fn", [
    lambda lib, c: lib.nn.ModuleDict(3),
    lambda lib, c: lib.nn.ModuleDict([3]),
    lambda lib, c: lib.nn.ModuleDict([("a", c.Tanh(), 1)]),
    lambda lib, c: lib.nn.ModuleDict({"a": 3}),
    lambda lib, c: lib.nn.ModuleDict({"a.b": c.Tanh()}),
    lambda lib, c: lib.nn.ModuleDict()["missing"],
])
def test_module_dict_errors(fn):
    same_error(fn)


# ---- ParameterList ----------------------------------------------------------------------

def test_parameter_list_wraps_tensors_and_registers():
    def run(lib, c):
        p0 = lib.nn.Parameter(lib.zeros(2, 3))
        pl = lib.nn.ParameterList([p0, lib.ones(4)])
        pl.append(lib.zeros(1, dtype=lib.float64))
        pl.extend([lib.nn.Parameter(lib.ones(2), requires_grad=False), "text"])
        pl += [7]
        return pl, p0

    (t, tp0), (e, ep0) = both(run)
    assert len(e) == len(t) == 6
    assert e[0] is ep0 and isinstance(e[1], nn.Parameter) and e[1].requires_grad
    assert not e[3].requires_grad and e[4] == "text" and e[-1] == 7
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()] == ["0", "1", "2", "3"]
    same_repr(t, e)
    assert list(e.state_dict()) == list(t.state_dict())


def test_parameter_list_indexing_setitem_slicing():
    def run(lib, c):
        pl = lib.nn.ParameterList([lib.zeros(i + 1) for i in range(4)])
        pl[1] = lib.ones(5)
        pl[-1] = lib.nn.Parameter(lib.ones(6))
        return pl, pl[1:3], pl[::-1]

    t, e = both(run)
    for tm, em in zip(t, e):
        assert [tuple(p.shape) for p in em] == [tuple(p.shape) for p in tm]
        same_repr(tm, em)
    assert type(e[1]) is nn.ParameterList and e[1][0] is e[0][1]
    same_error(lambda lib, c: lib.nn.ParameterList([lib.ones(1)])[1])
    same_error(lambda lib, c: lib.nn.ParameterList().extend(lib.ones(2)))
    same_error(lambda lib, c: lib.nn.ParameterList()(1))


# ---- ParameterDict ----------------------------------------------------------------------

def test_parameter_dict_operations_and_repr():
    def run(lib, c):
        pd = lib.nn.ParameterDict({"b": lib.zeros(2), "a": lib.nn.Parameter(lib.ones(1, 3))})  # dict: sorted
        pd["c"] = lib.zeros(2, dtype=lib.float64)
        pd.update(OrderedDict([("z", lib.ones(1)), ("y", "text")]))  # OrderedDict: in order
        pd.update([("x", lib.nn.Parameter(lib.zeros(4, dtype=lib.int64), requires_grad=False))])
        return pd

    t, e = both(run)
    assert list(e.keys()) == list(t.keys()) == ["a", "b", "c", "z", "y", "x"]
    same_repr(t, e)
    assert isinstance(e["b"], nn.Parameter) and e["y"] == "text"
    assert "a" in e and "q" not in e and len(e) == 6 and list(reversed(e))[0] == "x"
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]


def test_parameter_dict_mapping_methods():
    def run(lib, c):
        pd = lib.nn.ParameterDict({"a": lib.ones(1), "b": lib.ones(2), "c": lib.ones(3)})
        out = [tuple(pd.pop("b").shape)]
        k, v = pd.popitem()
        out.append((k, tuple(v.shape)))
        out.append(pd.get("zz", 5))
        out.append(tuple(pd.setdefault("d", lib.zeros(4)).shape))
        out.append(tuple(pd.setdefault("a", lib.zeros(9)).shape))
        cp = pd.copy()
        out.append(list(cp.keys()))
        out.append(cp["a"] is pd["a"])
        merged = pd | lib.nn.ParameterDict({"e": lib.zeros(1)})
        out.append(list(merged.keys()))
        pd |= lib.nn.ParameterDict({"f": lib.zeros(1)})
        out.append(list(pd.keys()))
        out.append(list(pd.fromkeys(["u", "v"], None).keys()))
        pd.clear()
        out.append(len(pd))
        out.append(list(pd.named_parameters()))
        return out

    t, e = both(run)
    assert e == t


@pytest.mark.parametrize("fn", [
    lambda lib, c: lib.nn.ParameterDict({"a": lib.ones(1)})[3],
    lambda lib, c: lib.nn.ParameterDict(3),
    lambda lib, c: lib.nn.ParameterDict([3]),
    lambda lib, c: lib.nn.ParameterDict([("a", 1, 2)]),
    lambda lib, c: lib.nn.ParameterDict()(1),
    lambda lib, c: lib.nn.ParameterDict()["missing"],
])
def test_parameter_dict_errors(fn):
    same_error(fn)


def test_containers_in_state_dict_match_torch():
    def run(lib, c):
        m = lib.nn.Module()
        m.seq = seq(lib, c, 2)
        m.lst = lib.nn.ModuleList([c.Scale(2)])
        m.dct = lib.nn.ModuleDict({"k": c.Affine(2, 2)})
        m.plist = lib.nn.ParameterList([lib.zeros(3)])
        m.pdict = lib.nn.ParameterDict({"w": lib.zeros(1, 2)})
        return m

    t, e = both(run)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    same_repr(t, e)
