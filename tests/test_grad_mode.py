"""Grad mode: no_grad, enable_grad, set_grad_enabled, inference_mode as context managers and
decorators (plain and generator functions), thread-locality, compared with torch."""
import threading

import pytest
import torch

import ember

LIBS = [ember, torch]


def trace(lib, body):
    """Runs body(lib, log) from grad mode on; log records (label, grad enabled, requires_grad of x * 2)."""
    log = []
    x = lib.ones(2, requires_grad=True)

    def rec(label):
        log.append((label, lib.is_grad_enabled(), (x * 2).requires_grad))
    assert lib.is_grad_enabled()
    body(lib, rec)
    assert lib.is_grad_enabled()
    return log


def same_as_torch(body):
    e, t = trace(ember, body), trace(torch, body)
    assert e == t
    return e


def test_no_grad_and_nested_enable_grad():
    def body(lib, rec):
        rec("start")
        with lib.no_grad():
            rec("no_grad")
            with lib.enable_grad():
                rec("enable inside no_grad")
            rec("back to no_grad")
        rec("end")
    log = same_as_torch(body)
    assert [r[1] for r in log] == [True, False, True, False, True]


def test_no_grad_restores_mode_after_exception():
    def body(lib, rec):
        with pytest.raises(ValueError):
            with lib.no_grad():
                raise ValueError("inside")
        rec("after")
    same_as_torch(body)


def test_set_grad_enabled_as_function_context_and_decorator():
    def body(lib, rec):
        lib.set_grad_enabled(False)
        rec("called False")
        lib.set_grad_enabled(True)
        with lib.set_grad_enabled(False):
            rec("ctx False")
            with lib.set_grad_enabled(True):
                rec("ctx True")
        rec("after ctx")

        @lib.set_grad_enabled(False)
        def f():
            rec("decorated False")
        rec("after decorating")
        f()
        rec("after call")
    log = same_as_torch(body)
    assert [r[1] for r in log] == [False, False, True, True, True, False, True]


def test_set_grad_enabled_rejects_non_bool():
    for lib in LIBS:
        with pytest.raises(TypeError):
            lib.set_grad_enabled("yes")


@pytest.mark.parametrize("manager", ["no_grad", "enable_grad", "inference_mode"])
def test_decorators_with_and_without_parentheses(manager):
    def body(lib, rec):
        m = getattr(lib, manager)

        @m()
        def f(k):
            rec(f"with parens {k}")
            return k * 2

        @m
        def g(k):
            rec(f"bare {k}")
            return k + 1

        with lib.no_grad():
            assert f(3) == 6
        assert g(1) == 2
        assert f.__name__ == "f" and g.__name__ == "g"
    same_as_torch(body)


@pytest.mark.parametrize("manager", ["no_grad", "enable_grad"])
def test_decorated_generator_applies_mode_while_running(manager):
    def body(lib, rec):
        m = getattr(lib, manager)

        @m()
        def gen():
            for i in range(2):
                rec(f"in generator {i}")
                got = yield i
                rec(f"resumed with {got}")

        with lib.no_grad():
            it = gen()
            assert next(it) == 0
            rec("caller between steps")
            assert it.send("a") == 1
            with pytest.raises(StopIteration):
                it.send("b")
    same_as_torch(body)


def test_inference_mode_flags_and_nesting():
    for lib in LIBS:
        assert not lib.is_inference_mode_enabled()
        with lib.inference_mode():
            assert lib.is_inference_mode_enabled() and not lib.is_grad_enabled()
            x = lib.ones(2, requires_grad=True)
            assert not (x * 2).requires_grad
            with lib.inference_mode(False):
                assert not lib.is_inference_mode_enabled()
            assert lib.is_inference_mode_enabled()
        assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()


def test_module_level_names():
    for lib in LIBS:
        assert lib.autograd.no_grad is lib.no_grad
        assert lib.autograd.grad_mode.no_grad is lib.no_grad
        assert lib.autograd.set_grad_enabled is lib.set_grad_enabled


def test_grad_mode_is_thread_local():
    for lib in LIBS:
        seen = {}
        started, release = threading.Event(), threading.Event()

        def worker():
            seen["initial"] = lib.is_grad_enabled()
            lib.set_grad_enabled(False)
            x = lib.ones(2, requires_grad=True)
            seen["records"] = (x * 2).requires_grad
            started.set()
            release.wait(5)
            seen["still_off"] = not lib.is_grad_enabled()

        with lib.no_grad():
            t = threading.Thread(target=worker)
            t.start()
            started.wait(5)
            with lib.enable_grad():
                release.set()
                t.join(5)
                assert lib.is_grad_enabled()  # the worker's set_grad_enabled(False) stayed in the worker
        assert seen == {"initial": True, "records": False, "still_off": True}, lib.__name__


def test_backward_inside_no_grad_still_accumulates():
    for lib in LIBS:
        x = lib.ones(2, requires_grad=True)
        y = (x * x).sum()
        with lib.no_grad():
            y.backward()
        assert x.grad.tolist() == [2.0, 2.0]


def test_create_graph_inside_no_grad_records_graph():
    out = []
    for lib in LIBS:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x * x * x).sum()
        with lib.no_grad():
            (g,) = lib.autograd.grad(y, x, create_graph=True)
            assert not lib.is_grad_enabled()
        out.append((g.requires_grad, g.tolist()))
    assert out[0] == out[1] == (True, [3.0, 12.0])
