"""nn.utils.rnn (PackedSequence and the pack/pad helpers) and the recurrent layers' argument
errors, against torch."""
import numpy as np
import pytest
import torch

import ember
from oracle import same_error
from nn_helpers import torch_single_thread  # noqa: F401 (fixture)

U = "utils.rnn"

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def _u(lib):
    return lib.nn.utils.rnn




def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("lengths_kind", ["list", "tensor"])
def test_pack_pad_round_trip(batch_first, enforce_sorted, lengths_kind):
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x = np.random.randn(*((4, 6, 2) if batch_first else (6, 4, 2)))
    w = np.random.randn(*x.shape[:2], 2)
    res = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        lens = lengths if lengths_kind == "list" else lib.tensor(lengths)
        p = _u(lib).pack_padded_sequence(xt, lens, batch_first=batch_first, enforce_sorted=enforce_sorted)
        padded, out_lens = _u(lib).pad_packed_sequence(p, batch_first=batch_first, padding_value=-1.5,
                                                       total_length=7)
        (padded[:6] * lib.tensor(w) if not batch_first else padded[:, :6] * lib.tensor(w)).sum().backward()
        res.append([p.data, p.batch_sizes, padded, out_lens, xt.grad]
                   + ([p.sorted_indices, p.unsorted_indices] if not enforce_sorted else []))
        if enforce_sorted:
            assert p.sorted_indices is None and p.unsorted_indices is None
    for a, b in zip(*res):
        assert a.dtype == torch.int64 or str(b.dtype) == "ember.float64"
        np.testing.assert_array_equal(_np(b), _np(a))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence(batch_first, padding_side):
    seqs = [np.random.randn(n, 3) for n in (2, 4, 1)]
    res = []
    for lib in (torch, ember):
        ts = [lib.tensor(s, requires_grad=True) for s in seqs]
        out = _u(lib).pad_sequence(ts, batch_first=batch_first, padding_value=2.0, padding_side=padding_side)
        (out * out).sum().backward()
        res.append([out] + [t.grad for t in ts])
    for a, b in zip(*res):
        np.testing.assert_array_equal(_np(b), _np(a))


@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_unpack_sequence(enforce_sorted):
    seqs = [np.random.randn(n, 2) for n in ((4, 2, 1) if enforce_sorted else (2, 4, 1))]
    res = []
    for lib in (torch, ember):
        ts = [lib.tensor(s, requires_grad=True) for s in seqs]
        p = _u(lib).pack_sequence(ts, enforce_sorted=enforce_sorted)
        back = _u(lib).unpack_sequence(p)
        sum((b * (i + 1)).sum() for i, b in enumerate(back)).backward()
        padded = lib.tensor(np.zeros((3, 4, 2)))
        unp = _u(lib).unpad_sequence(padded, lib.tensor([4, 2, 1]), batch_first=True)
        res.append([p.data, p.batch_sizes] + back + [t.grad for t in ts] + unp)
    for a, b in zip(*res):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(_np(b), _np(a))


def test_packed_sequence_tuple_behaviour():
    P = ember.nn.utils.rnn.PackedSequence
    data = ember.randn(3, 2)
    bs = ember.tensor([2, 1])
    p = P(data, bs)
    d, b, s, u = p
    assert d is data and b is bs and s is None and u is None
    assert P((data, bs)).data is data
    p2 = P(data, bs, ember.tensor([1, 0]))
    np.testing.assert_array_equal(np.asarray(p2.unsorted_indices), [1, 0])
    assert p.double().data.dtype == ember.float64
    assert p.to(ember.float32) is p
    assert p.float() is p
    assert isinstance(p, tuple) and p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")


def test_packed_output_of_module_matches_torch():
    """Final states taken at each sequence's own end, in the caller's order (enforce_sorted=False)."""
    tm = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True).double()
    em = ember.nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=ember.float64)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = np.random.randn(4, 3, 3)
    h0 = np.random.randn(4, 3, 4)
    outs = []
    for lib, m in ((torch, tm), (ember, em)):
        p = _u(lib).pack_padded_sequence(lib.tensor(x), [2, 4, 1], enforce_sorted=False)
        out, h = m(p, lib.tensor(h0))
        assert isinstance(out, _u(lib).PackedSequence)
        outs.append([out.data, out.batch_sizes, out.sorted_indices, out.unsorted_indices, h])
    for a, b in zip(*outs):
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-10, atol=1e-12)


# ---- errors --------------------------------------------------------------------------------

def test_pack_errors():
    x = np.random.randn(3, 2, 4)
    same_error(lambda lib: _u(lib).pack_padded_sequence(lib.tensor(x), [2, 3]))
    same_error(lambda lib: _u(lib).pack_padded_sequence(lib.tensor(x), [3, 0]))
    same_error(lambda lib: _u(lib).pack_padded_sequence(lib.tensor(x), [0, 3], enforce_sorted=False))
    same_error(lambda lib: _u(lib).pack_padded_sequence(lib.tensor(x), [3, 2, 1]))
    same_error(lambda lib: _u(lib).pack_padded_sequence(lib.tensor(x), lib.tensor([[3, 2]])))
    same_error(lambda lib: _u(lib).pack_sequence([lib.tensor(x[:2, 0]), lib.tensor(x[:, 0])]))
    p = {lib: _u(lib).pack_padded_sequence(lib.tensor(x), [3, 2]) for lib in (torch, ember)}
    same_error(lambda lib: _u(lib).pad_packed_sequence(p[lib], total_length=2))
    same_error(lambda lib: _u(lib).pad_sequence([lib.tensor(x[0]), lib.tensor(x[0, :, :3])]))
    same_error(lambda lib: _u(lib).pad_sequence([lib.tensor(x[0])], padding_side="middle"))


def test_pack_length_longer_than_sequence_raises():
    # torch reads past the input here; ember refuses
    with pytest.raises(RuntimeError, match="at most the sequence length 3, but found an element in 'lengths' "
                                           "that is 4"):
        ember.nn.utils.rnn.pack_padded_sequence(ember.randn(3, 2, 4), [4, 2])
    with pytest.raises(RuntimeError, match="at most the sequence length 3"):
        ember.nn.utils.rnn.pack_padded_sequence(ember.randn(2, 3, 4), [2, 4], batch_first=True,
                                                enforce_sorted=False)


def _mods(cls, *args, **kw):
    torch.manual_seed(0)
    return {torch: getattr(torch.nn, cls)(*args, **kw), ember: getattr(ember.nn, cls)(*args, **kw)}


def test_module_errors():
    r = lambda lib, *s: lib.randn(*s)  # noqa: E731
    lstm = _mods("LSTM", 4, 5, 2)
    same_error(lambda lib: lstm[lib](r(lib, 3, 2, 3)))
    same_error(lambda lib: lstm[lib](r(lib, 3, 2, 4), (r(lib, 2, 3, 5), r(lib, 2, 2, 5))))
    same_error(lambda lib: lstm[lib](r(lib, 3, 2, 4), (r(lib, 2, 2, 5), r(lib, 2, 3, 5))))
    same_error(lambda lib: lstm[lib](r(lib, 3, 2, 4), (r(lib, 1, 2, 5), r(lib, 2, 2, 5))))
    same_error(lambda lib: lstm[lib](r(lib, 4)))
    same_error(lambda lib: lstm[lib](r(lib, 1, 1, 1, 4)))
    same_error(lambda lib: lstm[lib](r(lib, 3, 4), (r(lib, 2, 2, 5), r(lib, 2, 2, 5))))
    same_error(lambda lib: lstm[lib](r(lib, 3, 2, 4), (r(lib, 2, 5), r(lib, 2, 5))))
    same_error(lambda lib: lstm[lib](r(lib, 3, 2, 4).double()))
    gru = _mods("GRU", 4, 5)
    same_error(lambda lib: gru[lib](r(lib, 3, 2, 4), r(lib, 1, 3, 5)))
    same_error(lambda lib: gru[lib](r(lib, 3, 2, 3)))
    same_error(lambda lib: gru[lib](r(lib, 3, 4), r(lib, 1, 2, 5)))
    same_error(lambda lib: gru[lib](r(lib, 3, 2, 4), r(lib, 2, 5)))
    same_error(lambda lib: gru[lib](r(lib, 7)))
    rnn = _mods("RNN", 4, 5, batch_first=True)
    same_error(lambda lib: rnn[lib](r(lib, 2, 3, 4), r(lib, 1, 3, 5)))
    p = {lib: _u(lib).pack_padded_sequence(r(lib, 3, 2, 3), [3, 2]) for lib in (torch, ember)}
    same_error(lambda lib: gru[lib](p[lib]))


def test_constructor_errors():
    same_error(lambda lib: lib.nn.LSTM(4, 5, proj_size=5))
    same_error(lambda lib: lib.nn.LSTM(4, 5, proj_size=-1))
    same_error(lambda lib: lib.nn.GRU(4, 5, proj_size=2))
    same_error(lambda lib: lib.nn.RNN(4, 5, proj_size=2))
    same_error(lambda lib: lib.nn.LSTM(4, 5, dropout=1.5))
    same_error(lambda lib: lib.nn.LSTM(4, 0))
    same_error(lambda lib: lib.nn.LSTM(4, 5, num_layers=0))
    same_error(lambda lib: lib.nn.LSTM(4, 5.0))
    same_error(lambda lib: lib.nn.RNN(4, 5, nonlinearity="foo"))


def test_cell_errors():
    r = lambda lib, *s: lib.randn(*s)  # noqa: E731
    c = _mods("LSTMCell", 4, 5)
    same_error(lambda lib: c[lib](r(lib, 2, 3)))
    same_error(lambda lib: c[lib](r(lib, 2, 2, 4)))
    same_error(lambda lib: c[lib](r(lib, 2, 4), (r(lib, 3, 5), r(lib, 2, 5))))
    same_error(lambda lib: c[lib](r(lib, 2, 4), (r(lib, 2, 6), r(lib, 2, 5))))
    same_error(lambda lib: c[lib](r(lib, 2, 4), (r(lib, 2, 5), r(lib, 2, 6))))
    same_error(lambda lib: c[lib](r(lib, 4), (r(lib, 2, 5), r(lib, 2, 5))))
    g = _mods("GRUCell", 4, 5)
    same_error(lambda lib: g[lib](r(lib, 2, 3)))
    same_error(lambda lib: g[lib](r(lib, 2, 4), r(lib, 3, 5)))
    same_error(lambda lib: g[lib](r(lib, 2, 4), r(lib, 2, 6)))
    same_error(lambda lib: g[lib](r(lib, 2, 2, 4)))
    rc = _mods("RNNCell", 4, 5)
    same_error(lambda lib: rc[lib](r(lib, 2, 3)))
    same_error(lambda lib: rc[lib](r(lib, 2, 4), r(lib, 3, 5)))
    bad = _mods("RNNCell", 4, 5, nonlinearity="foo")
    same_error(lambda lib: bad[lib](r(lib, 2, 4)))


def test_core_rejects_bad_arguments():
    """The C++ entry checks shapes itself (never reads out of bounds)."""
    w = [ember.randn(20, 3), ember.randn(20, 5), ember.randn(20), ember.randn(20)]
    x = ember.randn(4, 3)
    with pytest.raises(RuntimeError, match="batch_sizes sum to 5 but the packed input has 4 rows"):
        ember._C._rnn(2, x, ember.tensor([3, 2]), None, None, w, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="non-increasing"):
        ember._C._rnn(2, x, ember.tensor([1, 3]), None, None, w, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="weight_hh of layer 0 has shape"):
        ember._C._rnn(2, x.view(2, 2, 3), None, None, None, [w[0], ember.randn(20, 4)] + w[2:], True, 1, 0.0,
                      False, False, False)
    with pytest.raises(RuntimeError, match="expected 8 parameter tensors"):
        ember._C._rnn(2, x.view(2, 2, 3), None, None, None, w, True, 2, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \[1, 2, 5\], got \[1, 2, 4\]"):
        ember._C._rnn(2, x.view(2, 2, 3), None, None, ember.randn(1, 2, 4), w, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 4 expected 3"):
        ember.lstm_cell(ember.randn(2, 4), None, None, w[0], w[1])
