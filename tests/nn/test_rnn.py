"""nn.RNN / LSTM / GRU and their cells against torch with the same weights: outputs, final
states and every gradient, padded and packed input, plus float64 finite-difference checks."""
import numpy as np
import pytest
import torch

import ember
from nn_helpers import torch_single_thread, copy_params  # noqa: F401 (fixture)
from oracle import gradcheck_fd

MODES = {  # name -> (module class name, extra constructor kwargs)
    "rnn_tanh": ("RNN", {}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": 3}),
    "gru": ("GRU", {}),
}

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def make_pair(mode, input_size=4, hidden_size=5, dtype="float64", **kw):
    cls, extra = MODES[mode]
    kw = {**extra, **kw}
    tm = getattr(torch.nn, cls)(input_size, hidden_size, **kw).to(getattr(torch, dtype))
    em = getattr(ember.nn, cls)(input_size, hidden_size, **kw, dtype=getattr(ember, dtype))
    copy_params(tm, em)
    return tm, em


def _states(h):
    return list(h) if isinstance(h, tuple) else [h]


def run_both(tm, em, x, lengths=None, batch_first=False, hx=None, rtol=1e-7, atol=1e-9):
    """Runs the same input (packed by `lengths` when given) and initial states through both
    modules, backpropagates the same random weighting of all outputs and compares everything."""
    results = []
    rng = np.random.RandomState(1)
    ups = None
    for lib, m in ((torch, tm), (ember, em)):
        xt = lib.tensor(x, requires_grad=True)
        states = None if hx is None else [lib.tensor(h, requires_grad=True) for h in hx]
        inp = xt
        if lengths is not None:
            inp = lib.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=False)
        arg = None if states is None else (tuple(states) if len(states) == 2 else states[0])
        out, h = m(inp, arg)
        if lengths is not None:
            out, out_lengths = lib.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first)
            assert list(np.asarray(out_lengths)) == list(lengths)
        outs = [out] + _states(h)
        if ups is None:
            ups = [rng.standard_normal(tuple(o.shape)) for o in outs]
        loss = sum((o * lib.tensor(u, dtype=o.dtype)).sum() for o, u in zip(outs, ups))
        loss.backward()
        grads = [xt.grad] + ([s.grad for s in states] if states else [])
        grads += [p.grad for _, p in m.named_parameters()]
        results.append(([o.detach() for o in outs], grads, [n for n, _ in m.named_parameters()]))
    (t_outs, t_grads, t_names), (e_outs, e_grads, e_names) = results
    assert t_names == e_names
    for a, b in zip(t_outs, e_outs):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(np.asarray(b), a.numpy(), rtol=rtol, atol=atol)
    for a, b in zip(t_grads, e_grads):
        np.testing.assert_allclose(np.asarray(b), a.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_module_matches_torch(mode, num_layers, bidirectional, packed):
    batch_first = num_layers == 2  # both layouts are covered across the grid
    tm, em = make_pair(mode, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    T, B = 5, 4
    x = np.random.randn(*((B, T, 4) if batch_first else (T, B, 4)))
    lengths = [3, 5, 1, 4] if packed else None
    D = 2 if bidirectional else 1
    hout = 3 if mode == "lstm_proj" else 5
    hx = [np.random.randn(num_layers * D, B, hout)]
    if mode.startswith("lstm"):
        hx.append(np.random.randn(num_layers * D, B, 5))
    run_both(tm, em, x, lengths, batch_first, hx if num_layers != 3 else None)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hx_given", [False, True])
def test_zero_initial_state_with_nonfinite_w_hh_gives_torchs_nans(mode, bidirectional, hx_given):
    # The first step's hidden product is skipped for a zero initial state; 0 * inf must still
    # give NaN wherever torch's product does.
    tm, em = make_pair(mode, bidirectional=bidirectional)
    for m in (tm, em):
        with (torch if m is tm else ember).no_grad():
            m.weight_hh_l0[1, 0] = float("inf")
    x = np.random.randn(3, 2, 4)
    hout = 3 if mode == "lstm_proj" else 5
    D = 2 if bidirectional else 1
    hx = [np.zeros((D, 2, hout))] + ([np.zeros((D, 2, 5))] if mode.startswith("lstm") else [])
    outs = []
    for lib, m in ((torch, tm), (ember, em)):
        states = [lib.tensor(h) for h in hx] if hx_given else None
        arg = None if states is None else (tuple(states) if len(states) == 2 else states[0])
        out, _ = m(lib.tensor(x), arg)
        outs.append(np.asarray(out.detach()))
    assert np.isnan(outs[0]).any()
    np.testing.assert_array_equal(np.isnan(outs[1]), np.isnan(outs[0]))
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", ["rnn_tanh", "lstm", "lstm_proj", "gru"])
def test_float32_no_bias(mode):
    tm, em = make_pair(mode, dtype="float32", num_layers=2, bias=False, bidirectional=True)
    assert "bias_ih_l0" not in dict(em.named_parameters())
    x = np.random.randn(6, 3, 4).astype(np.float32)
    run_both(tm, em, x, rtol=1e-4, atol=1e-5)
    run_both(tm, em, x, lengths=[6, 2, 4], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["lstm", "lstm_proj"])
def test_float32_lstm_whole_register_hidden_size_matches_torch(mode):
    # hidden_size a multiple of the SIMD width takes the single-sweep float gate pass.
    tm, em = make_pair(mode, dtype="float32", hidden_size=32, num_layers=2, bidirectional=True)
    x = np.random.randn(6, 3, 4).astype(np.float32)
    run_both(tm, em, x, rtol=1e-4, atol=1e-5)
    run_both(tm, em, x, lengths=[6, 2, 4], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["rnn_relu", "lstm", "lstm_proj", "gru"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched(mode, batch_first):
    tm, em = make_pair(mode, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = np.random.randn(5, 4)
    hout = 3 if mode == "lstm_proj" else 5
    hx = [np.random.randn(4, hout)] + ([np.random.randn(4, 5)] if mode.startswith("lstm") else [])
    run_both(tm, em, x, hx=hx)
    run_both(tm, em, x)


def test_state_dict_round_trip_and_names():
    tm, em = make_pair("lstm_proj", num_layers=2, bidirectional=True)
    assert list(em.state_dict()) == list(tm.state_dict())
    for (n, a), (_, b) in zip(tm.named_parameters(), em.named_parameters()):
        assert tuple(a.shape) == tuple(b.shape), n
    assert em._flat_weights_names == tm._flat_weights_names
    assert [[tuple(w.shape) for w in ws] for ws in em.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
    em.flatten_parameters()


def test_init_range_and_repr():
    em = ember.nn.GRU(3, 16, num_layers=2)
    bound = 1 / 4
    for _, p in em.named_parameters():
        v = np.asarray(p.detach())
        assert v.min() >= -bound and v.max() <= bound and v.std() > 0.05
    cases = [
        ("LSTM", (4, 5), dict(num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True,
                              proj_size=3)),
        ("GRU", (4, 5), {}), ("RNN", (4, 5), dict(nonlinearity="relu")), ("LSTMCell", (4, 5), {}),
        ("RNNCell", (4, 5), dict(bias=False, nonlinearity="relu")), ("GRUCell", (3, 4), {}),
    ]
    for cls, args, kw in cases:
        assert repr(getattr(ember.nn, cls)(*args, **kw)) == repr(getattr(torch.nn, cls)(*args, **kw))


def test_set_parameter_attribute_is_used():
    tm, em = make_pair("gru")
    new = np.random.randn(15, 4)
    tm.weight_ih_l0 = torch.nn.Parameter(torch.tensor(new))
    em.weight_ih_l0 = ember.nn.Parameter(ember.tensor(new))
    run_both(tm, em, np.random.randn(3, 2, 4))


def test_module_to_dtype():
    tm, em = make_pair("lstm", dtype="float32")
    tm.double()
    em.double()
    run_both(tm, em, np.random.randn(3, 2, 4))


# ---- cells ---------------------------------------------------------------------------------

CELLS = {"rnn_tanh": ("RNNCell", {}), "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
         "lstm": ("LSTMCell", {}), "gru": ("GRUCell", {})}


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(cell, bias, batched, with_state):
    cls, kw = CELLS[cell]
    tm = getattr(torch.nn, cls)(4, 5, bias=bias, **kw).double()
    em = getattr(ember.nn, cls)(4, 5, bias=bias, **kw, dtype=ember.float64)
    copy_params(tm, em)
    shape = (3,) if batched else ()
    x = np.random.randn(*shape, 4)
    states = [np.random.randn(*shape, 5) for _ in range(2 if cell == "lstm" else 1)]
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        xt = lib.tensor(x, requires_grad=True)
        st = [lib.tensor(s, requires_grad=True) for s in states]
        h = x_in = xt
        hx = (tuple(st) if cell == "lstm" else st[0]) if with_state else None
        for _ in range(3):  # a few steps, so the state's gradient flows through the cell
            hx = m(x_in, hx)
            h = hx[0] if cell == "lstm" else hx
            x_in = xt * 0.5
        outs = list(hx) if cell == "lstm" else [hx]
        (sum((o * o).sum() for o in outs) + h.sum()).backward()
        grads = [xt.grad] + ([s.grad for s in st] if with_state else []) + [p.grad for p in m.parameters()]
        res.append(([o.detach() for o in outs], grads))
    for a, b in zip(res[0][0] + res[0][1], res[1][0] + res[1][1]):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(np.asarray(b), a.numpy(), rtol=1e-7, atol=1e-9)


def test_cell_functions_are_one_node():
    x, h, c = ember.randn(2, 3), ember.randn(2, 4), ember.randn(2, 4)
    w_ih = ember.randn(16, 3, requires_grad=True)
    w_hh = ember.randn(16, 4, requires_grad=True)
    h2, c2 = ember.lstm_cell(x, h, c, w_ih, w_hh)
    assert h2.grad_fn is c2.grad_fn and h2.grad_fn.name() == "LstmCellBackward"
    g = ember.gru_cell(x, h, ember.randn(12, 3, requires_grad=True), ember.randn(12, 4))
    assert g.grad_fn.name() == "GruCellBackward"
    out, hn = ember.nn.GRU(3, 4)(ember.randn(5, 2, 3))
    assert out.grad_fn is hn.grad_fn and out.grad_fn.name() == "GruBackward"


@pytest.mark.parametrize("cell", list(CELLS))
def test_cell_gradcheck(cell):
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    x, h, c = np.random.randn(2, 3), np.random.randn(2, 4), np.random.randn(2, 4)
    ws = [np.random.randn(G * 4, 3) * 0.5, np.random.randn(G * 4, 4) * 0.5, np.random.randn(G * 4) * 0.5,
          np.random.randn(G * 4) * 0.5]
    if cell == "lstm":
        gradcheck_fd(lambda lib, *a: lib.lstm_cell(*a), x, h, c, *ws)
    else:
        fn = {"rnn_tanh": "rnn_tanh_cell", "rnn_relu": "rnn_relu_cell", "gru": "gru_cell"}[cell]
        gradcheck_fd(lambda lib, *a: getattr(lib, fn)(*a), x, h, *ws)


def _flat_params(m):
    return [np.asarray(p.detach()).astype(np.float64) for p in m._flat_weights]


@pytest.mark.parametrize("mode,proj", [(2, 0), (2, 2), (3, 0), (0, 0)])
def test_packed_bidirectional_gradcheck(mode, proj):
    """float64 finite differences through a 2-layer bidirectional packed stack."""
    cls = {0: "RNN", 2: "LSTM", 3: "GRU"}[mode]
    kw = {"proj_size": proj} if proj else {}
    m = getattr(ember.nn, cls)(3, 4, num_layers=2, bidirectional=True, dtype=ember.float64, **kw)
    batch_sizes = ember.tensor([3, 2, 2, 1])
    hout = proj or 4
    x = np.random.randn(8, 3)
    h0 = np.random.randn(4, 3, hout)
    c0 = np.random.randn(4, 3, 4)

    def fn(lib, x, h0, c0, *params):
        out, h, c = lib._C._rnn(mode, x, batch_sizes, h0, c0 if mode == 2 else None, list(params), True, 2, 0.0,
                                True, True, False, proj)
        return (out, h, c) if mode == 2 else (out, h)

    gradcheck_fd(fn, x, h0, c0, *_flat_params(m))


def test_dropout_between_layers():
    m = ember.nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=ember.float64)
    x = ember.randn(5, 2, 3, dtype=ember.float64)
    m.eval()
    ref = m(x)[0]
    m2 = ember.nn.LSTM(3, 4, num_layers=2, dtype=ember.float64)
    m2.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(np.asarray(ref.detach()), np.asarray(m2(x)[0].detach()))
    m.train()
    ember.manual_seed(3)
    a = m(x)[0]
    ember.manual_seed(3)
    b = m(x)[0]
    np.testing.assert_array_equal(np.asarray(a.detach()), np.asarray(b.detach()))
    assert not np.allclose(np.asarray(a.detach()), np.asarray(ref.detach()))
    # with a fixed seed the dropped stack is a deterministic function: check its gradient
    params = _flat_params(m)

    def fn(lib, x, *p):
        lib.manual_seed(7)
        return lib._C._rnn(2, x, None, None, None, list(p), True, 2, 0.5, True, False, False, 0)[:2]

    gradcheck_fd(fn, np.random.randn(4, 2, 3), *params)


def test_dropout_warning():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        ember.nn.GRU(3, 4, dropout=0.2)


def test_double_backward_raises():
    m = ember.nn.GRU(3, 4)
    x = ember.randn(2, 1, 3, requires_grad=True)
    out, _ = m(x)
    with pytest.raises(RuntimeError, match="double backward through GruBackward"):
        ember.autograd.grad(out.sum(), x, create_graph=True)
    h, c = ember.lstm_cell(x[0], None, None, ember.randn(16, 3, requires_grad=True), ember.randn(16, 4))
    with pytest.raises(RuntimeError, match="double backward through LstmCellBackward"):
        ember.autograd.grad(h.sum(), x, create_graph=True)


def test_backward_twice_and_inplace_weight_change():
    m = ember.nn.LSTM(3, 4)
    out, _ = m(ember.randn(2, 1, 3))
    out.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()
    out, _ = m(ember.randn(2, 1, 3))
    with ember.no_grad():
        m.weight_hh_l0.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_empty_and_no_grad():
    m = ember.nn.GRU(3, 4)
    with ember.no_grad():
        out, h = m(ember.randn(3, 2, 3))
    assert out.grad_fn is None and tuple(out.shape) == (3, 2, 4) and tuple(h.shape) == (1, 2, 4)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_noncontiguous_input_and_state(mode):
    tm, em = make_pair(mode, num_layers=2, bidirectional=True)
    x = np.random.randn(3, 6, 4)   # used as its transpose [6, 3, 4]
    h = np.random.randn(3, 4, 5)   # used as its transpose [4, 3, 5]
    res = []
    for lib, m in ((torch, tm), (ember, em)):
        xt = lib.tensor(x, requires_grad=True)
        ht = lib.tensor(h, requires_grad=True)
        states = (ht.transpose(0, 1), ht.transpose(0, 1) * 2) if mode == "lstm" else ht.transpose(0, 1)
        out, hn = m(xt.transpose(0, 1), states)
        (out.sum() + (hn[0] if mode == "lstm" else hn).pow(2).sum()).backward()
        res.append([out.detach(), xt.grad, ht.grad])
    for a, b in zip(*res):
        np.testing.assert_allclose(np.asarray(b), a.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", list(MODES))
def test_large_batch_splits_rows_over_threads_bitwise_and_matches_torch(mode):
    # A batch of at least 16 rows with a wide enough hidden product runs its rows' recurrences
    # on separate threads, forward and backward: the results must not depend on the thread
    # count, and must match torch. Packed, bidirectional, two layers.
    hidden = 192 if mode.startswith("rnn") else 128  # wide enough for the split in every mode
    kw = {"proj_size": 64} if mode == "lstm_proj" else {}
    tm, em = make_pair(mode, input_size=6, hidden_size=hidden, num_layers=2, bidirectional=True, **kw)
    B, T = 20, 4
    x = np.random.randn(T, B, 6)
    lengths = list(np.random.RandomState(3).randint(1, T + 1, size=B))
    lengths[0] = T
    prev = ember.get_num_threads()
    try:
        runs = []
        for threads in (2, 1):
            ember.set_num_threads(threads)
            xe = ember.tensor(x, requires_grad=True)
            out, _ = em(ember.nn.utils.rnn.pack_padded_sequence(xe, lengths, enforce_sorted=False))
            out.data.sum().backward()
            runs.append([np.asarray(out.data.detach()), xe.grad.numpy()] + [p.grad.numpy().copy() for p in em.parameters()])
            em.zero_grad()
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)
    finally:
        ember.set_num_threads(prev)
    run_both(tm, em, x, lengths)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_padded_batch_first_split_with_dropout_is_thread_independent(mode, dtype):
    # The row-split path with a padded batch_first input (whose output is written, and its
    # gradient read, in batch-first order in place) and dropout between three layers: the
    # dropout masks are drawn before the threads start, so a fixed seed gives the same bits on
    # 1, 2 and 3 threads (three row ranges); without dropout, and from given initial states,
    # the results match torch.
    hidden = 192 if mode.startswith("rnn") else 128
    kw = {"proj_size": 64} if mode == "lstm_proj" else {}
    tm, em = make_pair(mode, input_size=40, hidden_size=hidden, num_layers=3, bidirectional=True,
                       batch_first=True, dtype=dtype, **kw)
    x = np.random.RandomState(5).randn(24, 3, 40).astype(dtype)  # [B, T, I]
    prev = ember.get_num_threads()
    try:
        em.dropout = 0.3
        runs = []
        for threads in (2, 3, 1):
            ember.set_num_threads(threads)
            ember.manual_seed(11)
            xe = ember.tensor(x, requires_grad=True)
            out, _ = em(xe)
            assert tuple(out.shape) == (24, 3, 2 * (64 if mode == "lstm_proj" else hidden))
            (out * ember.tensor(np.arange(out.numel()).reshape(tuple(out.shape)) % 7, dtype=out.dtype)).sum().backward()
            runs.append([np.asarray(out.detach()), xe.grad.numpy()] + [p.grad.numpy().copy() for p in em.parameters()])
            em.zero_grad()
        for other in runs[1:]:
            for a, b in zip(runs[0], other):
                np.testing.assert_array_equal(a, b)
        em.dropout = 0.0
        ember.set_num_threads(2)
        tol = dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else {}
        run_both(tm, em, x, batch_first=True, **tol)
        hout = 64 if mode == "lstm_proj" else hidden
        rng = np.random.RandomState(6)
        hx = [rng.randn(6, 24, hout).astype(dtype)] + ([rng.randn(6, 24, hidden).astype(dtype)]
                                                       if mode.startswith("lstm") else [])
        run_both(tm, em, x, batch_first=True, hx=hx, **tol)
    finally:
        ember.set_num_threads(prev)
