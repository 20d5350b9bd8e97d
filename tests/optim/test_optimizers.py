"""ember.optim optimizers against torch.optim: trajectories, state dicts, groups, closures, errors."""
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import optim

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 50

# Every option combination that changes the arithmetic of an update.
CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.1, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.9), eps=1e-6, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.6, 0.99), decoupled_weight_decay=True, weight_decay=0.2)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, eps=1e-4, maximize=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, maximize=True)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)


def initial_arrays(dtype, shapes=SHAPES, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def leaves(lib, arrays):
    return [lib.tensor(a.copy(), requires_grad=True) for a in arrays]


def numpy_of(t):
    return t.detach().numpy().copy()


def grad_of(values, step, seed):
    """A deterministic gradient depending on the parameter values and the step (plus noise)."""
    rng = np.random.default_rng(seed * 1000 + step)
    return (np.sin(values) + 0.5 * rng.standard_normal(values.shape)).astype(values.dtype)


def set_grads(lib, params, step):
    for i, p in enumerate(params):
        p.grad = lib.tensor(grad_of(numpy_of(p), step, i))


def run(lib, name, kwargs, arrays, steps, opt=None, params=None, start=0):
    """Runs `steps` optimizer steps; returns the parameters after each step, the optimizer and params."""
    if params is None:
        params = leaves(lib, arrays)
    if opt is None:
        opt = getattr(lib.optim, name)(params, **kwargs)
    trajectory = []
    for t in range(start, start + steps):
        set_grads(lib, params, t)
        opt.step()
        trajectory.append([numpy_of(p) for p in params])
    return trajectory, opt, params


def assert_trajectories_close(ours, theirs, dtype):
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for i, (x, y) in enumerate(zip(a, b)):
            np.testing.assert_allclose(x, y, **tol(dtype), err_msg=f"step {step}, parameter {i}")


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_trajectory_matches_torch(name, kwargs):
    arrays = initial_arrays(np.float32)
    ours, _, _ = run(ember, name, kwargs, arrays, STEPS)
    theirs, _, _ = run(torch, name, kwargs, arrays, STEPS)
    assert_trajectories_close(ours, theirs, np.float32)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1)),
])
def test_float64_trajectory_matches_torch(name, kwargs):
    arrays = initial_arrays(np.float64)
    ours, opt, params = run(ember, name, kwargs, arrays, STEPS)
    theirs, _, _ = run(torch, name, kwargs, arrays, STEPS)
    assert_trajectories_close(ours, theirs, np.float64)
    for p in params:
        for key, value in opt.state[p].items():
            if key != "step":
                assert value.dtype == ember.float64, key


def test_float64_default_dtype_makes_float64_step():
    prev = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        pe = ember.zeros(2, requires_grad=True)
        pt = torch.zeros(2, requires_grad=True)
        for lib, p in ((ember, pe), (torch, pt)):
            p.grad = lib.ones(2)
            opt = lib.optim.Adam([p])
            opt.step()
            assert str(opt.state[p]["step"].dtype).split(".")[-1] == "float64"
    finally:
        ember.set_default_dtype(prev)
        torch.set_default_dtype(torch.float32)


def test_large_tensor_runs_in_parallel_chunks_and_matches_torch():
    arrays = initial_arrays(np.float32, shapes=[(200, 200)], seed=3)
    for name, kwargs in [("Adam", dict(lr=0.01, amsgrad=True)), ("SGD", dict(lr=0.1, momentum=0.9)),
                         ("RMSprop", dict(centered=True, momentum=0.5)), ("Adagrad", dict(lr_decay=0.01))]:
        ours, _, _ = run(ember, name, kwargs, arrays, 3)
        theirs, _, _ = run(torch, name, kwargs, arrays, 3)
        assert_trajectories_close(ours, theirs, np.float32)


def test_noncontiguous_params_and_grads():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((4, 3)).astype(np.float32)
    results = []
    for lib in (ember, torch):
        p = lib.tensor(base.copy()).t()  # a non-contiguous leaf
        p.requires_grad_(True)
        assert not p.is_contiguous()
        opt = lib.optim.Adam([p], lr=0.1)
        for step in range(5):
            g = grad_of(numpy_of(p).T.copy(), step, 0)
            p.grad = lib.tensor(g).t()  # non-contiguous gradient
            opt.step()
        results.append(numpy_of(p))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_step_bumps_version_and_runs_without_grad():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    p.grad = ember.tensor([0.5, -0.5])
    before = p._version
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    assert p._version > before
    assert p.grad_fn is None and p.is_leaf and p.requires_grad
    assert ember.is_grad_enabled()
    buf = opt.state[p]["momentum_buffer"]
    assert not buf.requires_grad and buf.grad_fn is None
    np.testing.assert_allclose(buf.numpy(), [0.5, -0.5])


def test_params_without_grad_are_skipped():
    results = []
    for lib in (ember, torch):
        a, b = lib.ones(3, requires_grad=True), lib.ones(2, requires_grad=True)
        a.grad = lib.tensor([1.0, 2.0, 3.0])
        opt = lib.optim.Adam([a, b], lr=0.1)
        opt.step()
        assert len(opt.state) == 1 and b not in opt.state
        results.append((numpy_of(a), numpy_of(b)))
    for x, y in zip(*results):
        np.testing.assert_allclose(x, y, rtol=1e-6)


# ---- state_dict ----------------------------------------------------------------------------

def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def describe(value):
    """A comparable description of a state value: tensors by shape, dtype and values."""
    if isinstance(value, (torch.Tensor, ember.Tensor)):
        return ("tensor", tuple(value.shape), dtype_name(value))
    return value


@pytest.mark.parametrize("name,kwargs", CONFIGS[::2] + [CONFIGS[1]], ids=IDS[::2] + [IDS[1]])
def test_state_dict_structure_matches_torch(name, kwargs):
    arrays = initial_arrays(np.float32)
    _, opt_e, _ = run(ember, name, kwargs, arrays, 3)
    _, opt_t, _ = run(torch, name, kwargs, arrays, 3)
    sd_e, sd_t = opt_e.state_dict(), opt_t.state_dict()
    assert set(sd_e) == set(sd_t) == {"state", "param_groups"}
    assert sd_e["param_groups"] == sd_t["param_groups"]
    assert list(sd_e["state"]) == list(sd_t["state"])
    for idx in sd_t["state"]:
        se, st = sd_e["state"][idx], sd_t["state"][idx]
        assert list(se) == list(st)
        for key in st:
            assert describe(se[key]) == describe(st[key]), key
            np.testing.assert_allclose(se[key].numpy(), st[key].numpy(), rtol=1e-5, atol=1e-6)
    assert repr(opt_e) == repr(opt_t)


def clone_state_dict(sd):
    """A deep copy of an optimizer state dict (tensors cloned)."""
    def clone(v):
        if isinstance(v, ember.Tensor):
            return v.clone()
        if isinstance(v, dict):
            return {k: clone(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clone(x) for x in v]
        return v
    return clone(sd)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[i] for i in (2, 3, 9, 12, 15, 20, 24)],
                         ids=[IDS[i] for i in (2, 3, 9, 12, 15, 20, 24)])
def test_resume_after_load_state_dict_matches_uninterrupted_torch(name, kwargs):
    arrays = initial_arrays(np.float32)
    theirs, _, _ = run(torch, name, kwargs, arrays, 20)

    first, opt, params = run(ember, name, kwargs, arrays, 10)
    saved = clone_state_dict(opt.state_dict())
    saved_params = [numpy_of(p) for p in params]
    # Keep stepping the old optimizer: the saved copy must not change.
    run(ember, name, kwargs, arrays, 3, opt=opt, params=params, start=10)

    new_params = leaves(ember, saved_params)
    new_opt = getattr(optim, name)(new_params, **kwargs)
    new_opt.load_state_dict(saved)
    assert new_opt.state_dict()["param_groups"] == saved["param_groups"]
    second, _, _ = run(ember, name, kwargs, arrays, 10, opt=new_opt, params=new_params, start=10)
    assert_trajectories_close(first + second, theirs, np.float32)


def test_load_state_dict_casts_state_to_param_dtype_and_keeps_step():
    p32 = ember.zeros(3, requires_grad=True)
    p32.grad = ember.ones(3)
    opt = optim.Adam([p32])
    opt.step()
    sd = clone_state_dict(opt.state_dict())
    p64 = ember.zeros(3, dtype=ember.float64, requires_grad=True)
    opt64 = optim.Adam([p64])
    opt64.load_state_dict(sd)
    assert opt64.state[p64]["exp_avg"].dtype == ember.float64
    assert opt64.state[p64]["step"].dtype == ember.float32
    p64.grad = ember.ones(3, dtype=ember.float64)
    opt64.step()
    assert opt64.state[p64]["step"].item() == 2.0


def test_load_state_dict_errors():
    a, b = ember.ones(2, requires_grad=True), ember.ones(3, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1)
    two_groups = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    one = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(one.state_dict())


def test_state_dict_hooks():
    p = ember.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    calls = []
    opt.register_state_dict_pre_hook(lambda o: calls.append("pre"))
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    assert opt.state_dict()["extra"] == 1 and calls == ["pre"]
    opt.register_load_state_dict_pre_hook(lambda o, sd: calls.append("load_pre"))
    handle = opt.register_load_state_dict_post_hook(lambda o: calls.append("load_post"))
    opt.load_state_dict(opt.state_dict())
    handle.remove()
    opt.load_state_dict(opt.state_dict())
    assert calls == ["pre", "pre", "load_pre", "load_post", "pre", "load_pre"]


# ---- groups, closure, zero_grad, hooks --------------------------------------------------------

def test_param_groups_with_different_options_match_torch():
    arrays = initial_arrays(np.float32)
    trajectories = []
    for lib in (ember, torch):
        params = leaves(lib, arrays)
        opt = lib.optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.01, "momentum": 0.5}],
                            lr=0.1, momentum=0.9)
        assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
        assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5]
        traj, _, _ = run(lib, "SGD", {}, arrays, 20, opt=opt, params=params)
        trajectories.append(traj)
    assert_trajectories_close(trajectories[0], trajectories[1], np.float32)


def test_add_param_group_later_matches_torch():
    arrays = initial_arrays(np.float32)
    finals = []
    for lib in (ember, torch):
        params = leaves(lib, arrays)
        opt = lib.optim.Adam(params[:1], lr=0.01)
        run(lib, "Adam", {}, arrays, 3, opt=opt, params=params[:1])
        opt.add_param_group({"params": params[1:], "lr": 0.05, "amsgrad": True})
        run(lib, "Adam", {}, arrays, 5, opt=opt, params=params, start=3)
        finals.append([numpy_of(p) for p in params])
        assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    for x, y in zip(*finals):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_closure_reevaluated_with_grad_and_loss_returned():
    results = []
    for lib in (ember, torch):
        p = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        grad_modes = []

        def closure():
            grad_modes.append(lib.is_grad_enabled())
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss

        with lib.no_grad():
            losses = [float(opt.step(closure)) for _ in range(5)]
        assert grad_modes == [True] * 5
        results.append((losses, numpy_of(p)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


def test_step_without_closure_returns_none():
    p = ember.ones(2, requires_grad=True)
    p.grad = ember.ones(2)
    assert optim.RMSprop([p]).step() is None


def test_zero_grad():
    p = ember.ones(3, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3, np.float32))
    opt.zero_grad()
    assert p.grad is None
    opt.zero_grad()  # no gradient: nothing to do


def test_step_hooks():
    p = ember.ones(2, requires_grad=True)
    p.grad = ember.ones(2)
    opt = optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    h3 = optim.optimizer.register_optimizer_step_pre_hook(lambda o, args, kwargs: calls.append("global"))
    opt.step()
    h1.remove()
    h3.remove()
    opt.step()
    assert calls == ["global", "pre", "post", "post"]
    opt.register_step_pre_hook(lambda o, args, kwargs: 3)
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.step()


def test_repr_matches_torch_with_groups():
    reprs = []
    for lib in (ember, torch):
        a, b = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        for cls in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
            opt = getattr(lib.optim, cls)([{"params": [a]}, {"params": [b], "lr": 0.5}])
            reprs.append(repr(opt))
    assert reprs[:5] == reprs[5:]


def test_named_parameters_in_groups():
    a, b = ember.ones(2, requires_grad=True), ember.ones(2, requires_grad=True)
    opt = optim.SGD([("w", a), ("b", b)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="Some param names are missing"):
        optim.SGD([("w", a), b], lr=0.1)
    with pytest.raises(ValueError, match="cannot add param group without names"):
        opt.add_param_group({"params": [ember.ones(1, requires_grad=True)]})


def test_duplicate_parameters_in_a_group_warn():
    a = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)


def test_default_hyperparameters_match_torch():
    a, b = ember.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)
    for cls in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        assert getattr(optim, cls)([a]).defaults == getattr(torch.optim, cls)([b]).defaults, cls


def test_foreach_and_fused_flags_are_accepted_and_give_same_results():
    arrays = initial_arrays(np.float32)
    plain, _, _ = run(ember, "Adam", dict(lr=0.01), arrays, 5)
    flagged, _, _ = run(ember, "Adam", dict(lr=0.01, foreach=True, capturable=True), arrays, 5)
    fused, _, _ = run(ember, "Adam", dict(lr=0.01, fused=True), arrays, 5)
    assert_trajectories_close(plain, flagged, np.float32)
    assert_trajectories_close(plain, fused, np.float32)


def test_tensor_lr():
    arrays = initial_arrays(np.float32)
    ours, _, _ = run(ember, "SGD", dict(lr=ember.tensor(0.1), momentum=0.9), arrays, 5)
    theirs, _, _ = run(torch, "SGD", dict(lr=torch.tensor(0.1), momentum=0.9), arrays, 5)
    assert_trajectories_close(ours, theirs, np.float32)


# ---- errors ------------------------------------------------------------------------------------

def test_constructor_errors_match_torch_messages():
    a = ember.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got ember.FloatTensor"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        optim.SGD([a, 3], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([a * 2], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([a], lr=0.1).add_param_group([a])
    with pytest.raises(TypeError, match="organized in ordered collections"):
        optim.SGD([{"params": {a}}], lr=0.1)
    with pytest.raises(NotImplementedError):
        optim.Optimizer([a], {}).step()


@pytest.mark.parametrize("name,kwargs,match", [
    ("SGD", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires a momentum"),
    ("Adam", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("Adam", dict(betas=(0.9, 0)), "betas must be either both floats or both Tensors"),
    ("AdamW", dict(lr=-0.5), "Invalid learning rate: -0.5"),
    ("RMSprop", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("RMSprop", dict(momentum=-1.0), "Invalid momentum value: -1.0"),
    ("RMSprop", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("RMSprop", dict(alpha=-1.0), "Invalid alpha value: -1.0"),
    ("Adagrad", dict(lr=-1.0), "Invalid learning rate: -1.0"),
    ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
    ("Adagrad", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value value: -1.0"),
    ("Adagrad", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
])
def test_hyperparameter_validation_matches_torch(name, kwargs, match):
    for lib in (ember, torch):
        with pytest.raises(ValueError, match=match):
            getattr(lib.optim, name)([lib.ones(1, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_differentiable_is_not_implemented(name):
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        getattr(optim, name)([ember.ones(1, requires_grad=True)], differentiable=True)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad"])
def test_fused_with_foreach_raises(name):
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        getattr(optim, name)([ember.ones(1, requires_grad=True)], fused=True, foreach=True)


def test_tensor_lr_must_have_one_element():
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([ember.ones(1, requires_grad=True)], lr=ember.ones(2))


# The kernels check their inputs in C++ (bad input reaches them through _C directly or through
# state edited by hand).
def test_kernel_rejects_mismatched_gradient_shape_and_dtype():
    p = ember.ones(3)
    with pytest.raises(RuntimeError, match=r"gradient of parameter 0 has shape \[4\] but the parameter has shape \[3\]"):
        ember._C._sgd_step([p], [ember.ones(4)], [None], 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(RuntimeError, match="gradient of parameter 0 has dtype float64 but the parameter has dtype float32"):
        ember._C._sgd_step([p], [ember.ones(3, dtype=ember.float64)], [None], 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(TypeError, match="can only optimize floating point parameters"):
        ember._C._sgd_step([ember.ones(3, dtype=ember.int64)], [ember.ones(3, dtype=ember.int64)], [None],
                           0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match="got 2 gradients for 1 parameters"):
        ember._C._sgd_step([p], [p, p], [None], 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(ValueError, match="got 0 momentum buffers for 1 parameters"):
        ember._C._sgd_step([p], [p], [], 0.1, 0.0, 0.0, 0.0, False, False)
    with pytest.raises(TypeError, match="parameter 0 has no gradient"):
        ember._C._sgd_step([p], [None], [None], 0.1, 0.0, 0.0, 0.0, False, False)
    np.testing.assert_array_equal(p.numpy(), np.ones(3, np.float32))


def test_kernel_rejects_mismatched_state():
    p, g = ember.ones(3), ember.ones(3)
    s = ember.zeros(())
    with pytest.raises(RuntimeError, match=r"exp_avg of parameter 0 has shape \[2\]"):
        ember._C._adam_step([p], [g], [ember.zeros(2)], [ember.zeros(3)], [], [s], 0.1, 0.9, 0.99, 1e-8, 0.0,
                            False, False, False)
    with pytest.raises(ValueError, match="got 0 max_exp_avg_sq tensors for 1 parameters"):
        ember._C._adam_step([p], [g], [ember.zeros(3)], [ember.zeros(3)], [], [s], 0.1, 0.9, 0.99, 1e-8, 0.0,
                            True, False, False)
    with pytest.raises(RuntimeError, match="step of parameter 0 must be a one-element floating point tensor"):
        ember._C._adam_step([p], [g], [ember.zeros(3)], [ember.zeros(3)], [], [ember.zeros(2)], 0.1, 0.9, 0.99,
                            1e-8, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="square_avg of parameter 0 has dtype float64"):
        ember._C._rmsprop_step([p], [g], [ember.zeros(3, dtype=ember.float64)], [], [], [s], 0.1, 0.9, 1e-8, 0.0,
                               0.0, False, False)
    with pytest.raises(ValueError, match="got 0 grad_avg tensors"):
        ember._C._rmsprop_step([p], [g], [ember.zeros(3)], [], [], [s], 0.1, 0.9, 1e-8, 0.0, 0.0, True, False)
    with pytest.raises(ValueError, match="got 0 momentum_buffer tensors"):
        ember._C._rmsprop_step([p], [g], [ember.zeros(3)], [], [], [s], 0.1, 0.9, 1e-8, 0.0, 0.5, False, False)
    with pytest.raises(TypeError, match="sum of parameter 0 is None"):
        ember._C._adagrad_step([p], [g], [None], [s], 0.1, 0.0, 0.0, 1e-10, False)
    with pytest.raises(RuntimeError, match=r"momentum_buffer of parameter 0 has shape \[5\]"):
        ember._C._sgd_step([p], [g], [ember.zeros(5)], 0.1, 0.9, 0.0, 0.0, False, False)
    assert s.item() == 0.0
    np.testing.assert_array_equal(p.numpy(), np.ones(3, np.float32))


def test_edited_state_is_rejected_before_any_update():
    p = ember.ones(3, requires_grad=True)
    p.grad = ember.ones(3)
    opt = optim.Adam([p])
    opt.step()
    opt.state[p]["exp_avg"] = ember.zeros(4)
    with pytest.raises(RuntimeError, match="exp_avg of parameter 0 has shape"):
        opt.step()
    assert opt.state[p]["step"].item() == 1.0


def test_no_warnings_in_a_plain_training_loop():
    p = ember.ones(3, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
            sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
