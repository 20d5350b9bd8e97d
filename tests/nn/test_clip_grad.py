"""nn.utils gradient clipping and parameter/vector conversion against torch."""
import math

import numpy as np
import pytest
import torch

import ember
from ember import nn

SHAPES = [(3, 4), (5,), (2, 1, 3), ()]


def make_params(rng, dtype=np.float32, scale=1.0, with_none=True):
    """The same parameters (and .grad) in torch and ember; the last has no gradient."""
    t_params, e_params = [], []
    for i, shape in enumerate(SHAPES):
        data = np.asarray(rng.standard_normal(shape), dtype=dtype)
        grad = np.asarray(scale * rng.standard_normal(shape), dtype=dtype)
        tp, ep = torch.nn.Parameter(torch.tensor(data)), nn.Parameter(ember.tensor(data))
        tp.grad, ep.grad = torch.tensor(grad), ember.tensor(grad)
        t_params.append(tp)
        e_params.append(ep)
    if with_none:
        t_params.append(torch.nn.Parameter(torch.ones(2)))
        e_params.append(nn.Parameter(ember.ones(2)))
    return t_params, e_params


def assert_grads_close(t_params, e_params, rtol=1e-5):
    for tp, ep in zip(t_params, e_params):
        if tp.grad is None:
            assert ep.grad is None
        else:
            np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    t_params, e_params = make_params(np.random.default_rng(0), dtype)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, norm_type)
    e_total = nn.utils.clip_grad_norm_(e_params, max_norm, norm_type)
    assert isinstance(e_total, ember.Tensor) and tuple(e_total.shape) == ()
    assert e_total.dtype == (ember.float32 if dtype == np.float32 else ember.float64)
    np.testing.assert_allclose(e_total.item(), t_total.item(), rtol=1e-5)
    assert_grads_close(t_params, e_params)


def test_clip_grad_norm_accepts_tensor_generator_and_foreach():
    t_params, e_params = make_params(np.random.default_rng(1), with_none=False)
    t_total = torch.nn.utils.clip_grad_norm_(t_params[0], 0.1)
    e_total = nn.utils.clip_grad_norm_(e_params[0], 0.1)
    np.testing.assert_allclose(e_total.item(), t_total.item(), rtol=1e-6)
    for foreach in (True, False, None):
        t_total = torch.nn.utils.clip_grad_norm_((p for p in t_params), 0.7, foreach=foreach)
        e_total = nn.utils.clip_grad_norm_((p for p in e_params), 0.7, foreach=foreach)
        np.testing.assert_allclose(e_total.item(), t_total.item(), rtol=1e-5)
    assert_grads_close(t_params, e_params)


def test_clip_grad_norm_module_parameters():
    m = nn.Module()
    m.w = nn.Parameter(ember.ones(3, 4))
    m.b = nn.Parameter(ember.ones(4))
    (m.w.mm(ember.ones(4, 1)).sum() * 3 + m.b.sum()).backward()
    total = nn.utils.clip_grad_norm_(m.parameters(), max_norm=1.0)
    np.testing.assert_allclose(total.item(), math.sqrt(12 * 9 + 4), rtol=1e-6)
    grads = np.concatenate([p.grad.numpy().ravel() for p in m.parameters()])
    np.testing.assert_allclose(np.linalg.norm(grads), 1.0, rtol=1e-5)


def test_clip_grad_norm_without_gradients():
    total = nn.utils.clip_grad_norm_([nn.Parameter(ember.ones(2))], 1.0)
    assert total.item() == torch.nn.utils.clip_grad_norm_([torch.nn.Parameter(torch.ones(2))], 1.0).item() == 0.0
    assert total.dtype == ember.float32
    with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient clipping will occur."):
        nn.utils.clip_grad_norm_((p for p in []), 1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_clip_grad_norm_nonfinite(bad):
    def build(lib, nnmod):
        p = nnmod.Parameter(lib.ones(3))
        p.grad = lib.tensor([1.0, bad, 2.0])
        return p

    tp, ep = build(torch, torch.nn), build(ember, nn)
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as e_err:
        nn.utils.clip_grad_norm_(ep, 1.0, error_if_nonfinite=True)
    assert str(e_err.value) == str(t_err.value).replace("torch", "ember")
    # Without the check the non-finite norm is applied, as torch does.
    t_total = torch.nn.utils.clip_grad_norm_(tp, 1.0)
    e_total = nn.utils.clip_grad_norm_(ep, 1.0)
    assert str(e_total.item()) == str(t_total.item())
    np.testing.assert_array_equal(ep.grad.numpy(), tp.grad.numpy())


def test_get_total_norm_and_clip_grads_with_norm():
    t_params, e_params = make_params(np.random.default_rng(2), with_none=False)
    t_total = torch.nn.utils.get_total_norm([p.grad for p in t_params], 3.0)
    e_total = nn.utils.get_total_norm([p.grad for p in e_params], 3.0)
    np.testing.assert_allclose(e_total.item(), t_total.item(), rtol=1e-5)
    torch.nn.utils.clip_grads_with_norm_(t_params, 0.25, t_total)
    nn.utils.clip_grads_with_norm_(e_params, 0.25, e_total)
    assert_grads_close(t_params, e_params)
    assert nn.utils.get_total_norm([]).item() == 0.0


def test_deprecated_clip_grad_norm_warns():
    t_params, e_params = make_params(np.random.default_rng(3))
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        e_total = nn.utils.clip_grad_norm(e_params, 0.5)
    with pytest.warns(FutureWarning):
        t_total = torch.nn.utils.clip_grad_norm(t_params, 0.5)
    np.testing.assert_allclose(e_total.item(), t_total.item(), rtol=1e-5)


@pytest.mark.parametrize("clip_value", [0.3, 1, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    t_params, e_params = make_params(np.random.default_rng(4), scale=2.0)
    assert torch.nn.utils.clip_grad_value_(t_params, clip_value) is None
    assert nn.utils.clip_grad_value_(e_params, clip_value) is None
    assert_grads_close(t_params, e_params, rtol=0)
    tp, ep = t_params[0], e_params[0]
    torch.nn.utils.clip_grad_value_(tp, 0.1, foreach=True)
    nn.utils.clip_grad_value_(ep, 0.1, foreach=True)
    np.testing.assert_array_equal(ep.grad.numpy(), tp.grad.numpy())


def test_parameters_to_vector_matches_torch_and_is_differentiable():
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (4,), (1, 2, 2)]]
    t_params = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    e_params = [nn.Parameter(ember.tensor(a)) for a in arrays]
    tv, ev = torch.nn.utils.parameters_to_vector(t_params), nn.utils.parameters_to_vector(e_params)
    assert tuple(ev.shape) == (14,)
    np.testing.assert_array_equal(ev.detach().numpy(), tv.detach().numpy())
    weights = np.arange(14, dtype=np.float32)
    (tv * torch.tensor(weights)).sum().backward()
    (ev * ember.tensor(weights)).sum().backward()
    for tp, ep in zip(t_params, e_params):
        np.testing.assert_array_equal(ep.grad.numpy(), tp.grad.numpy())


def test_vector_to_parameters_matches_torch():
    e_params = [nn.Parameter(ember.zeros(2, 3)), nn.Parameter(ember.zeros(4))]
    t_params = [torch.nn.Parameter(torch.zeros(2, 3)), torch.nn.Parameter(torch.zeros(4))]
    vec = np.arange(10, dtype=np.float32)
    ev = ember.tensor(vec)
    torch.nn.utils.vector_to_parameters(torch.tensor(vec), t_params)
    assert nn.utils.vector_to_parameters(ev, e_params) is None
    for tp, ep in zip(t_params, e_params):
        assert isinstance(ep, nn.Parameter) and ep.requires_grad and tuple(ep.shape) == tuple(tp.shape)
        np.testing.assert_array_equal(ep.detach().numpy(), tp.detach().numpy())
    expected = np.arange(6, 10, dtype=np.float32) + 1
    ev.add_(1.0)  # the parameters now view the vector's storage, as in torch
    np.testing.assert_array_equal(e_params[1].detach().numpy(), expected)


def test_vector_to_parameters_rejects_non_tensor():
    with pytest.raises(TypeError) as t_err:
        torch.nn.utils.vector_to_parameters([1.0], [torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(TypeError) as e_err:
        nn.utils.vector_to_parameters([1.0], [nn.Parameter(ember.zeros(1))])
    assert str(e_err.value) == str(t_err.value).replace("torch", "ember") == "expected ember.Tensor, but got: list"
