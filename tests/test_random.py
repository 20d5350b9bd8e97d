"""Random ops: reproducibility (re-seeding, generators, thread counts), distributions (moments
with generous tolerances), dtypes/shapes against torch, and error paths against torch."""
import numpy as np
import pytest
import torch

import ember

# Each sampler takes a generator (None: the default one) and returns a fresh tensor.
SAMPLERS = {
    "rand": lambda g: ember.rand(3, 4, generator=g),
    "rand64": lambda g: ember.rand(5, dtype=ember.float64, generator=g),
    "randn": lambda g: ember.randn(2, 3, generator=g),
    "randint": lambda g: ember.randint(-3, 9, (20,), generator=g),
    "randperm": lambda g: ember.randperm(30, generator=g),
    "normal_tt": lambda g: ember.normal(ember.zeros(4), ember.ones(4), generator=g),
    "normal_tf": lambda g: ember.normal(ember.zeros(2, 3), 2.0, generator=g),
    "normal_ft": lambda g: ember.normal(1.0, ember.ones(3), generator=g),
    "normal_ff": lambda g: ember.normal(0.0, 1.0, (5,), generator=g),
    "bernoulli": lambda g: ember.bernoulli(ember.full((30,), 0.5), generator=g),
    "bernoulli_p": lambda g: ember.bernoulli(ember.zeros(30), 0.3, generator=g),
    "multinomial": lambda g: ember.multinomial(ember.tensor([1., 2., 3., 4.]), 8, True, generator=g),
    "multinomial_norep": lambda g: ember.multinomial(ember.ones(2, 6), 6, generator=g),
    "uniform_": lambda g: ember.empty(7).uniform_(-2, 3, generator=g),
    "normal_": lambda g: ember.empty(7, dtype=ember.float64).normal_(1, 2, generator=g),
    "bernoulli_": lambda g: ember.empty(20).bernoulli_(0.4, generator=g),
    "bernoulli_t": lambda g: ember.empty(20).bernoulli_(ember.full((20,), 0.4), generator=g),
    "exponential_": lambda g: ember.empty(7).exponential_(2.0, generator=g),
    "random_": lambda g: ember.empty(10, dtype=ember.int64).random_(0, 100, generator=g),
    "random_to": lambda g: ember.empty(10, dtype=ember.int32).random_(5, generator=g),
    "random_full": lambda g: ember.empty(10, dtype=ember.uint8).random_(generator=g),
}


def values(t):
    return t.detach().numpy().copy()


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_reseeding_reproduces_default_generator(name):
    fn = SAMPLERS[name]
    g = ember.manual_seed(1234)
    assert isinstance(g, ember.Generator) and g is ember.default_generator
    a1, a2 = values(fn(None)), values(fn(None))
    ember.manual_seed(1234)
    b1, b2 = values(fn(None)), values(fn(None))
    np.testing.assert_array_equal(a1, b1)
    np.testing.assert_array_equal(a2, b2)
    ember.manual_seed(4321)
    c1 = values(fn(None))
    assert not np.array_equal(a1, c1)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_explicit_generator_reproduces_and_leaves_default_alone(name):
    fn = SAMPLERS[name]
    ember.manual_seed(7)
    before = ember.get_rng_state()
    g = ember.Generator().manual_seed(99)
    a = values(fn(g))
    assert ember.get_rng_state().tolist() == before.tolist()
    b = values(fn(ember.Generator().manual_seed(99)))
    np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_streams():
    a = ember.rand(100, generator=ember.Generator().manual_seed(1)).numpy()
    b = ember.rand(100, generator=ember.Generator().manual_seed(2)).numpy()
    assert not np.array_equal(a, b)
    g = ember.Generator().manual_seed(1)
    first, second = ember.rand(100, generator=g).numpy(), ember.rand(100, generator=g).numpy()
    assert not np.array_equal(first, second)


def test_generator_state_roundtrip():
    g = ember.Generator().manual_seed(5)
    ember.randn(10, generator=g)
    state = g.get_state()
    assert state.dtype == ember.uint8
    a = ember.randn(10, generator=g).numpy().copy()
    g.set_state(state)
    np.testing.assert_array_equal(ember.randn(10, generator=g).numpy(), a)
    ember.manual_seed(3)
    s = ember.get_rng_state()
    x = ember.rand(4).numpy().copy()
    ember.set_rng_state(s)
    np.testing.assert_array_equal(ember.rand(4).numpy(), x)


def test_seed_values_match_torch():
    assert ember.manual_seed(-1).initial_seed() == torch.manual_seed(-1).initial_seed() == 2**64 - 1
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()
    ember.manual_seed(42)
    assert ember.initial_seed() == 42
    s = ember.seed()
    assert isinstance(s, int) and ember.initial_seed() == s
    g = ember.Generator()
    assert g.manual_seed(3) is g and g.initial_seed() == 3
    assert isinstance(g.seed(), int)
    with pytest.raises(ValueError, match="Overflow"):
        ember.manual_seed(2**64)
    with pytest.raises(ValueError, match="Overflow"):
        torch.manual_seed(2**64)


def test_generator_state_errors():
    g = ember.Generator()
    with pytest.raises(TypeError, match="ByteTensor"):
        g.set_state(ember.zeros(16))
    with pytest.raises(TypeError, match="ByteTensor"):
        g.set_state([1, 2])
    with pytest.raises(RuntimeError, match="state size to be 3"):
        g.set_state(ember.zeros(3, dtype=ember.uint8))
    with pytest.raises(ValueError, match="device 'cuda'"):
        ember.Generator("cuda")


LARGE = {
    "rand": lambda: ember.rand(70_000),
    "randn": lambda: ember.randn(70_000, dtype=ember.float64),
    "randint": lambda: ember.randint(0, 1000, (70_000,)),
    "bernoulli_t": lambda: ember.bernoulli(ember.full((70_000,), 0.3)),
    "normal_noncontig": lambda: ember.zeros(300, 300).transpose(0, 1).normal_(),
    "uniform_noncontig": lambda: ember.zeros(300, 300, dtype=ember.float64).transpose(0, 1).uniform_(),
    "exponential_": lambda: ember.empty(70_000).exponential_(),
    "multinomial": lambda: ember.multinomial(ember.rand(64, 50), 40, True),
    "multinomial_norep": lambda: ember.multinomial(ember.rand(64, 500) + 0.01, 100),
}


@pytest.mark.parametrize("name", sorted(LARGE))
def test_same_bits_with_one_and_two_threads(name):
    prev = ember.get_num_threads()
    try:
        ember.set_num_threads(1)
        ember.manual_seed(11)
        a = values(LARGE[name]())
        ember.set_num_threads(2)
        ember.manual_seed(11)
        b = values(LARGE[name]())
    finally:
        ember.set_num_threads(prev)
    np.testing.assert_array_equal(a, b)


def test_noncontiguous_fill_matches_contiguous_order():
    # Elements are drawn in row-major order of the view, so the transposed fill equals a
    # contiguous fill of the same shape.
    ember.manual_seed(8)
    a = ember.zeros(40, 30).transpose(0, 1).uniform_().numpy().copy()
    ember.manual_seed(8)
    b = ember.empty(30, 40).uniform_().numpy()
    np.testing.assert_array_equal(a, b)


# ---- distributions ----------------------------------------------------------------------

N = 200_000


def test_uniform_moments_and_range():
    ember.manual_seed(0)
    for dtype in (ember.float32, ember.float64):
        x = ember.rand(N, dtype=dtype).numpy()
        assert x.min() >= 0 and x.max() < 1
        assert abs(x.mean() - 0.5) < 0.005 and abs(x.var() - 1 / 12) < 0.002
        y = ember.empty(N, dtype=dtype).uniform_(-2, 5).numpy()
        assert y.min() >= -2 and y.max() < 5 and abs(y.mean() - 1.5) < 0.05
        hist = np.histogram(x, bins=10, range=(0, 1))[0] / N
        assert np.all(np.abs(hist - 0.1) < 0.005)
    z = ember.empty(1000).uniform_(1, 1).numpy()
    assert np.all(z == 1)


def test_normal_moments():
    ember.manual_seed(1)
    for dtype in (ember.float32, ember.float64):
        x = ember.randn(N, dtype=dtype).numpy().astype(np.float64)
        assert abs(x.mean()) < 0.01 and abs(x.std() - 1) < 0.01
        assert abs((x ** 3).mean()) < 0.03 and abs((x ** 4).mean() - 3) < 0.1
        assert abs((np.abs(x) < 1).mean() - 0.6827) < 0.005
    y = ember.empty(N).normal_(3, 0.5).numpy()
    assert abs(y.mean() - 3) < 0.01 and abs(y.std() - 0.5) < 0.01
    z = ember.normal(ember.tensor([0., 10.]).reshape(2, 1).expand(2, N // 2), ember.tensor([1., 3.]).reshape(2, 1)).numpy()
    assert abs(z[0].mean()) < 0.02 and abs(z[1].mean() - 10) < 0.05
    assert abs(z[0].std() - 1) < 0.02 and abs(z[1].std() - 3) < 0.05
    w = ember.normal(2.0, 0.5, (N,)).numpy()
    assert abs(w.mean() - 2) < 0.01 and abs(w.std() - 0.5) < 0.01


def test_bernoulli_frequencies():
    ember.manual_seed(2)
    x = ember.empty(N).bernoulli_(0.3).numpy()
    assert set(np.unique(x)) <= {0.0, 1.0} and abs(x.mean() - 0.3) < 0.005
    p = ember.tensor([0.0, 0.25, 1.0]).reshape(3, 1).expand(3, N // 4).contiguous()
    y = ember.bernoulli(p).numpy()
    assert y[0].sum() == 0 and y[2].min() == 1 and abs(y[1].mean() - 0.25) < 0.01
    b = ember.empty(N, dtype=ember.bool).bernoulli_(0.5).numpy()
    assert b.dtype == np.bool_ and abs(b.mean() - 0.5) < 0.005
    c = ember.bernoulli(ember.zeros(N), 0.7).numpy()
    assert abs(c.mean() - 0.7) < 0.005


def test_exponential_moments():
    ember.manual_seed(3)
    x = ember.empty(N, dtype=ember.float64).exponential_(2.0).numpy()
    assert x.min() >= 0 and abs(x.mean() - 0.5) < 0.005 and abs(x.std() - 0.5) < 0.01


def test_randint_and_random_ranges():
    ember.manual_seed(4)
    x = ember.randint(-3, 4, (N,)).numpy()
    assert x.dtype == np.int64 and x.min() == -3 and x.max() == 3
    counts = np.bincount(x + 3) / N
    assert np.all(np.abs(counts - 1 / 7) < 0.005)
    y = ember.randint(5, (1000,), dtype=ember.float32).numpy()
    assert y.dtype == np.float32 and set(np.unique(y)) == {0., 1., 2., 3., 4.}
    u = ember.empty(N, dtype=ember.uint8).random_().numpy()
    assert u.min() == 0 and u.max() == 255
    b = ember.empty(1000, dtype=ember.bool).random_().numpy()
    assert set(np.unique(b)) == {False, True}
    f = ember.empty(N).random_().numpy()
    assert f.min() >= 0 and f.max() <= 2**24 and np.all(f == np.round(f))
    i = ember.empty(N, dtype=ember.int8).random_(-5, 5).numpy()
    assert i.min() == -5 and i.max() == 4


def test_randperm_is_permutation():
    ember.manual_seed(5)
    for n in (0, 1, 2, 10, 1000):
        p = ember.randperm(n).numpy()
        assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(n))
    # every position sees every value about equally often
    first = np.array([ember.randperm(4).numpy()[0] for _ in range(4000)])
    assert np.all(np.abs(np.bincount(first, minlength=4) / 4000 - 0.25) < 0.04)
    assert ember.randperm(5, dtype=ember.float32).dtype == ember.float32


def test_multinomial_frequencies():
    ember.manual_seed(6)
    p = np.array([0.1, 0.0, 0.2, 0.7])
    x = ember.multinomial(ember.tensor(p), N, replacement=True).numpy()
    freq = np.bincount(x, minlength=4) / N
    assert freq[1] == 0 and np.all(np.abs(freq - p) < 0.005)
    # Without replacement: distinct indices; the first pick follows p; zero weights come last.
    rows = ember.multinomial(ember.tensor(p * 3).reshape(1, 4).expand(20000, 4).contiguous(), 4).numpy()
    assert all(len(set(r)) == 4 for r in rows[:100])
    assert np.all(rows[:, 3] == 1)
    first = np.bincount(rows[:, 0], minlength=4) / len(rows)
    assert np.all(np.abs(first - p) < 0.015)
    w = ember.multinomial(ember.tensor([[0., 1., 0.], [5., 0., 0.]], dtype=ember.float64), 1).numpy()
    np.testing.assert_array_equal(w, [[1], [0]])


# ---- shapes, dtypes and errors against torch ---------------------------------------------------

@pytest.mark.parametrize("expr", [
    "lib.rand(2, 3)", "lib.rand((4,), dtype=lib.float64)", "lib.rand(())", "lib.randn(0, 2)", "lib.randn(3, requires_grad=True)",
    "lib.randint(3, (2, 2))", "lib.randint(-2, 5, (3,), dtype=lib.float32)", "lib.randint(0, 2, (4,), dtype=lib.bool)",
    "lib.randperm(6)", "lib.randperm(4, dtype=lib.int32)", "lib.normal(lib.zeros(2, 1), lib.ones(3))",
    "lib.normal(lib.zeros(2, dtype=lib.float64), 1.)", "lib.normal(1., lib.ones(2, 2))", "lib.normal(0., 1., (3, 2))",
    "lib.normal(0., 1., size=(2,), dtype=lib.float64)", "lib.bernoulli(lib.ones(2, 2, dtype=lib.float64) / 2)",
    "lib.bernoulli(lib.ones(3), 0.2)", "lib.multinomial(lib.ones(5), 3)", "lib.multinomial(lib.ones(2, 5), 7, True)",
    "lib.ones(3).multinomial(2)", "lib.ones(3).bernoulli()", "lib.rand_like(lib.zeros(2, dtype=lib.float64))",
    "lib.randn_like(lib.zeros(3, 1))", "lib.randint_like(lib.zeros(3, dtype=lib.int32), 4)",
    "lib.randint_like(lib.zeros(3), 2, 4)", "lib.empty(3, dtype=lib.int64).bernoulli_(0.5)",
    "lib.empty(3, dtype=lib.int32).random_(3, 9)",
])
def test_shapes_and_dtypes_match_torch(expr):
    e = eval(expr, dict(lib=ember))
    t = eval(expr, dict(lib=torch))
    assert repr(e.dtype).split(".")[1] == repr(t.dtype).split(".")[1]
    assert tuple(e.shape) == tuple(t.shape)
    assert e.requires_grad == t.requires_grad


ERRORS = [
    ("lib.randint(5, 3, (2,))", RuntimeError, "random_ expects 'from' to be less than 'to', but got from=5 >= to=3"),
    ("lib.randint(0, 0, (2,))", RuntimeError, "from=0 >= to=0"),
    ("lib.randint(0, 3, 2)", TypeError, "randint"),
    ("lib.rand(-1)", RuntimeError, r"negative dimension -1: \[-1\]"),
    ("lib.randn(2, -2)", RuntimeError, r"negative dimension -2"),
    ("lib.randperm(-1)", RuntimeError, r"negative dimension -1: \[-1\]"),
    ("lib.rand(2, dtype=lib.int64)", NotImplementedError, "\"check_uniform_bounds\" not implemented for 'Long'"),
    ("lib.randn(2, dtype=lib.int32)", NotImplementedError, "\"normal_kernel_cpu\" not implemented for 'Int'"),
    ("lib.empty(3).uniform_(2, 1)", RuntimeError, "uniform_ expects to return a \\[from, to\\) range, but found from=2 > to=1"),
    ("lib.empty(3).normal_(0, -1)", RuntimeError, "normal expects std >= 0.0, but found std -1"),
    ("lib.normal(0., -1., (2,))", RuntimeError, "normal expects std >= 0.0, but found std -1"),
    ("lib.normal(lib.zeros(2), -0.5)", RuntimeError, "normal expects std >= 0.0, but found std -0.5"),
    ("lib.normal(lib.zeros(2), lib.tensor([1., -1.]))", RuntimeError, "normal expects all elements of std >= 0.0"),
    ("lib.normal(0., lib.tensor([-1.]))", RuntimeError, "normal expects all elements of std >= 0.0"),
    ("lib.normal(lib.zeros(2), lib.ones(3))", RuntimeError, r"size of tensor a \(2\) must match the size of tensor b \(3\)"),
    ("lib.normal(lib.zeros(2, dtype=lib.int64), 1.)", NotImplementedError, "\"normal_kernel_cpu\" not implemented for 'Long'"),
    ("lib.bernoulli(lib.tensor([0.5, 1.5]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1 to be true, but got false."),
    ("lib.bernoulli(lib.tensor([float('nan')]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1"),
    ("lib.empty(3).bernoulli_(1.5)", RuntimeError, r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5"),
    ("lib.empty(3).bernoulli_(-0.5)", RuntimeError, r"bernoulli_ expects p to be in \[0, 1\], but got p=-0.5"),
    ("lib.bernoulli(lib.ones(2, dtype=lib.int64))", NotImplementedError, "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'"),
    ("lib.multinomial(lib.tensor([0.2, -1.]), 1)", RuntimeError, "probability tensor contains either `inf`, `nan` or element < 0"),
    ("lib.multinomial(lib.tensor([1., float('nan')]), 1)", RuntimeError, "probability tensor contains either `inf`, `nan`"),
    ("lib.multinomial(lib.tensor([1., float('inf')]), 1)", RuntimeError, "probability tensor contains either `inf`, `nan`"),
    ("lib.multinomial(lib.tensor([0., 0.]), 1)", RuntimeError, r"invalid multinomial distribution \(sum of probabilities <= 0\)"),
    ("lib.multinomial(lib.tensor([1., 1.]), 3)", RuntimeError, "cannot sample n_sample > prob_dist.size\\(-1\\) samples without replacement"),
    ("lib.multinomial(lib.ones(2, 2, 2), 1)", RuntimeError, "prob_dist must be 1 or 2 dim"),
    ("lib.multinomial(lib.ones(()), 1)", RuntimeError, "prob_dist must be 1 or 2 dim"),
    ("lib.multinomial(lib.ones(3), 0)", RuntimeError, "cannot sample n_sample <= 0 samples"),
    ("lib.multinomial(lib.ones(3, dtype=lib.int64), 1)", RuntimeError, "multinomial only supports floating-point dtypes for input, got: Long"),
    ("lib.empty(3, dtype=lib.uint8).random_(1, 0)", RuntimeError, "random_ expects 'from' to be less than 'to', but got from=1 >= to=0"),
    ("lib.empty(3).random_(2, 2)", RuntimeError, "from=2 >= to=2"),
    ("lib.empty(3).exponential_(-1)", RuntimeError, "exponential_ expects lambda > 0.0, but found lambda=-1"),
    ("lib.empty(3).exponential_(0)", RuntimeError, "exponential_ expects lambda > 0.0, but found lambda=0"),
    ("lib.empty(3, dtype=lib.int64).exponential_()", RuntimeError, "dtype must be a floating point but you specified Long"),
    ("lib.zeros(3, requires_grad=True).uniform_()", RuntimeError, "a leaf Variable that requires grad is being used in an in-place operation"),
    ("lib.zeros(3, requires_grad=True).normal_()", RuntimeError, "a leaf Variable that requires grad"),
]


@pytest.mark.parametrize("expr, exc, match", ERRORS)
def test_errors_match_torch(expr, exc, match):
    with pytest.raises(exc, match=match):
        eval(expr, dict(lib=torch))
    with pytest.raises(exc, match=match):
        eval(expr, dict(lib=ember))


def test_random_ops_autograd_match_torch():
    for lib in (ember, torch):
        x = lib.tensor([1., 2., 3.], requires_grad=True)
        y = x * 2
        y.uniform_()
        assert type(y.grad_fn).__name__ == "UniformBackward0" or y.grad_fn.name() == "UniformBackward0"
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0., 0., 0.])
    m_e = ember.zeros(3, requires_grad=True)
    m_t = torch.zeros(3, requires_grad=True)
    for name, fe, ft in [
        ("NormalBackward1", lambda: ember.normal(m_e, 1.), lambda: torch.normal(m_t, 1.)),
        ("NormalBackward2", lambda: ember.normal(0., m_e + 1), lambda: torch.normal(0., m_t + 1)),
        ("NormalBackward3", lambda: ember.normal(m_e, m_e + 1), lambda: torch.normal(m_t, m_t + 1)),
        ("BernoulliBackward0", lambda: ember.bernoulli(m_e + 0.5), lambda: torch.bernoulli(m_t + 0.5)),
    ]:
        e, t = fe(), ft()
        assert e.grad_fn.name() == type(t.grad_fn).__name__ == name
        e.sum().backward()
        t.sum().backward()
        np.testing.assert_array_equal(m_e.grad.numpy(), m_t.grad.numpy())
    # samplers used under no_grad (nn.init) work on leaves that require grad
    w = ember.empty(3, 3, requires_grad=True)
    with ember.no_grad():
        w.uniform_(-1, 1)
        w.normal_()
    assert w.is_leaf and w.grad_fn is None


def test_rand_requires_grad_and_version_bump():
    x = ember.rand(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    y = ember.zeros(3)
    v = y._version
    y.normal_()
    assert y._version > v
