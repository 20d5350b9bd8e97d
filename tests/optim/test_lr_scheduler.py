"""ember.optim.lr_scheduler against torch.optim.lr_scheduler: lr sequences, state dicts, errors."""
import math
import warnings

import pytest
import torch

import ember
from ember import optim

STEPS = 30


def make_optimizer(lib, cls="SGD", lrs=(0.1, 0.05), **kwargs):
    groups = [{"params": [lib.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return getattr(lib.optim, cls)(groups, lr=lrs[0], **kwargs)


def scheduler(lib, name, opt, kwargs):
    kwargs = {k: (v(lib) if callable(v) and k.startswith("_") else v) for k, v in kwargs.items()}
    return getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)


def warmup(epoch):
    return 1.0 / (epoch + 1)


class Halving:
    """A callable object: LambdaLR saves its __dict__ in the state dict."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 4)


SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3, 10, 10, 20], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=warmup)),
    ("LambdaLR", dict(lr_lambda=[warmup, lambda e: 0.95 ** e])),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.75, total_iters=12)),
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("PolynomialLR", dict(total_iters=20, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=0.001)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS + 1)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], total_steps=STEPS + 5, anneal_strategy="linear", pct_start=0.4)),
    ("OneCycleLR", dict(max_lr=0.8, epochs=4, steps_per_epoch=8, three_phase=True, div_factor=10.0)),
    ("OneCycleLR", dict(max_lr=0.8, total_steps=STEPS + 1, cycle_momentum=False)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=6, mode="triangular2")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.9,
                      base_momentum=0.7, max_momentum=0.95)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, scale_fn=lambda x: 0.5 ** x,
                      scale_mode="iterations", cycle_momentum=False)),
]
SCHED_IDS = [f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)]


def lr_sequence(lib, name, kwargs, cls="SGD", opt_kwargs=None, steps=STEPS):
    opt = make_optimizer(lib, cls, **(dict(momentum=0.9) if opt_kwargs is None else opt_kwargs))
    sched = scheduler(lib, name, opt, kwargs)
    seq = [(sched.get_last_lr(), [g["lr"] for g in opt.param_groups], momenta(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        seq.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups], momenta(opt)))
    return seq, opt, sched


def momenta(opt):
    return [g.get("momentum", g.get("betas")) for g in opt.param_groups]


def assert_sequences_equal(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, rel=1e-13, abs=1e-15), f"step {step}"


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=SCHED_IDS)
def test_lr_sequence_matches_torch(name, kwargs):
    ours, opt_e, _ = lr_sequence(ember, name, kwargs)
    theirs, opt_t, _ = lr_sequence(torch, name, kwargs)
    assert_sequences_equal(ours, theirs)
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt_e.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in opt_t.param_groups]


@pytest.mark.parametrize("name,kwargs", [
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS + 1)),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=STEPS + 1, three_phase=True, max_momentum=0.9,
                        base_momentum=[0.8, 0.7])),
    ("CyclicLR", dict(base_lr=0.001, max_lr=0.01, step_size_up=4)),
])
def test_cyclic_schedules_cycle_adam_beta1_like_torch(name, kwargs):
    ours, opt_e, _ = lr_sequence(ember, name, kwargs, cls="Adam", opt_kwargs={})
    theirs, _, _ = lr_sequence(torch, name, kwargs, cls="Adam", opt_kwargs={})
    assert_sequences_equal(ours, theirs)
    assert opt_e.param_groups[0]["betas"][1] == 0.999


def test_one_cycle_errors():
    opt = make_optimizer(ember)
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(4):
            opt.step()
            sched.step()
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Expected positive integer total_steps, but got 0"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=0)
    with pytest.raises(ValueError, match="Expected positive integer epochs, but got -1"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=-1, steps_per_epoch=2)
    with pytest.raises(ValueError, match="Expected positive integer steps_per_epoch, but got 0"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, epochs=1, steps_per_epoch=0)
    with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start, but got 1.5"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of 'cos' or 'linear', instead got exp"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have the same length as optimizer.param_groups"):
        optim.lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 2.0, 3.0], total_steps=10)
    no_momentum = make_optimizer(ember, "Adagrad")
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        optim.lr_scheduler.OneCycleLR(no_momentum, max_lr=1.0, total_steps=10)


METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.89, 0.9, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.5,
           0.5, 0.49999, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]


@pytest.mark.parametrize("kwargs", [
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(mode="max", patience=1, threshold=0.01, threshold_mode="abs"),
    dict(mode="min", patience=0, threshold=0.05, threshold_mode="abs", min_lr=[0.01, 0.02]),
    dict(mode="max", patience=2, threshold=0.1, factor=0.2, min_lr=0.004, eps=1e-3),
])
def test_reduce_on_plateau_matches_torch(kwargs):
    seqs = []
    for lib in (ember, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        seq = [sched.get_last_lr()]
        for m in METRICS:
            opt.step()
            sched.step(m)
            seq.append((sched.get_last_lr(), sched.num_bad_epochs, sched.cooldown_counter, sched.best))
        seqs.append(seq)
    assert_sequences_equal(*seqs)


def test_reduce_on_plateau_errors_and_metric_types():
    opt = make_optimizer(ember)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        optim.lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        optim.lr_scheduler.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="threshold mode both is unknown!"):
        optim.lr_scheduler.ReduceLROnPlateau(opt, threshold_mode="both")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 3"):
        optim.lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        optim.lr_scheduler.ReduceLROnPlateau([])
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(ember.tensor(1.0))  # a 0-dim tensor metric is accepted, as in torch
    sched.step(2.0)
    assert sched.get_last_lr() == pytest.approx([0.01, 0.005])
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(1.0, epoch=5)
    assert sched.last_epoch == 5
    fixed = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [ember.zeros(1, requires_grad=True)], "lr": 0.1})
    fixed.step(1.0)
    with pytest.raises(RuntimeError, match=r"The number of param groups in the `optimizer` \(3\) differs"):
        fixed.step(2.0)


def test_reduce_on_plateau_state_dict_round_trip():
    opt = make_optimizer(ember)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1)
    for m in METRICS[:8]:
        sched.step(m)
    sd = sched.state_dict()
    torch_opt = make_optimizer(torch)
    torch_sd = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, mode="max", patience=1).state_dict()
    assert set(sd) == set(torch_sd)

    opt2 = make_optimizer(ember)
    for g, g2 in zip(opt.param_groups, opt2.param_groups):
        g2["lr"] = g["lr"]
    restored = optim.lr_scheduler.ReduceLROnPlateau(opt2)
    restored.load_state_dict(sd)
    for m in METRICS[8:]:
        sched.step(m)
        restored.step(m)
        assert restored.get_last_lr() == sched.get_last_lr()


ROUND_TRIP = (0, 1, 3, 5, 6, 9, 12, 13, 15, 18)


@pytest.mark.parametrize("name,kwargs", [SCHEDULERS[i] for i in ROUND_TRIP], ids=[SCHED_IDS[i] for i in ROUND_TRIP])
def test_state_dict_round_trip_resumes_schedule(name, kwargs):
    full, _, _ = lr_sequence(ember, name, kwargs)

    opt = make_optimizer(ember, momentum=0.9)
    sched = scheduler(ember, name, opt, kwargs)
    for _ in range(12):
        opt.step()
        sched.step()
    sd = sched.state_dict()
    opt_sd = opt.state_dict()

    torch_opt = make_optimizer(torch, momentum=0.9)
    torch_sd = scheduler(torch, name, torch_opt, kwargs).state_dict()
    assert set(sd) == set(torch_sd)

    opt2 = make_optimizer(ember, momentum=0.9)
    sched2 = scheduler(ember, name, opt2, kwargs)
    opt2.load_state_dict(opt_sd)
    sched2.load_state_dict(sd)
    resumed = []
    for _ in range(STEPS - 12):
        opt2.step()
        sched2.step()
        resumed.append((sched2.get_last_lr(), [g["lr"] for g in opt2.param_groups], momenta(opt2)))
    assert_sequences_equal(resumed, full[13:])


def test_lambda_state_dict_saves_callable_objects_only():
    opt = make_optimizer(ember)
    obj = Halving()
    sched = optim.lr_scheduler.LambdaLR(opt, [warmup, obj])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"factor": 0.5}]
    obj2 = Halving()
    obj2.factor = 0.1
    sched2 = optim.lr_scheduler.LambdaLR(make_optimizer(ember), [warmup, obj2])
    sched2.load_state_dict({**sd, "lr_lambdas": [None, {"factor": 0.25}]})
    assert obj2.factor == 0.25


def test_base_scheduler_fields_and_initial_lr():
    opt = make_optimizer(ember)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2)
    assert sched.last_epoch == 0
    assert sched.base_lrs == [0.1, 0.05]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert sched.get_last_lr() == [0.1, 0.05]
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    with pytest.raises(NotImplementedError):
        optim.lr_scheduler.LRScheduler(make_optimizer(ember))


def test_closed_form_step_with_epoch_matches_torch():
    seqs = []
    for lib in (ember, torch):
        opt = make_optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        seq = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (4, 9, 2, 7):
                opt.step()
                sched.step(epoch)
                seq.append(sched.get_last_lr())
        seqs.append(seq)
    assert_sequences_equal(*seqs)


def test_sequential_and_chained_schedulers_match_torch():
    seqs = []
    for lib in (ember, torch):
        ls = lib.optim.lr_scheduler
        opt = make_optimizer(lib)
        seq_sched = ls.SequentialLR(opt, [ls.LinearLR(opt, start_factor=0.1, total_iters=5),
                                          ls.CosineAnnealingLR(opt, T_max=10)], milestones=[5])
        opt2 = make_optimizer(lib)
        chained = ls.ChainedScheduler([ls.ExponentialLR(opt2, gamma=0.9), ls.StepLR(opt2, step_size=4)])
        seq = []
        for _ in range(20):
            opt.step()
            opt2.step()
            seq_sched.step()
            chained.step()
            seq.append((seq_sched.get_last_lr(), chained.get_last_lr()))
        seqs.append(seq)
    assert_sequences_equal(*seqs)


def test_scheduler_constructor_errors():
    ls = optim.lr_scheduler
    opt = make_optimizer(ember)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        ls.StepLR([], step_size=1)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        ls.StepLR(make_optimizer(ember), step_size=1, last_epoch=3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        ls.LambdaLR(opt, [warmup] * 3)
    with pytest.raises(TypeError, match="lr_lambda should be a function, but got int"):
        ls.MultiplicativeLR(opt, 3)
    with pytest.raises(ValueError, match="Starting multiplicative factor expected to be greater than 0"):
        ls.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Ending multiplicative factor expected to be between 0 and 1."):
        ls.LinearLR(opt, end_factor=2)
    with pytest.raises(ValueError, match="Constant multiplicative factor expected to be between 0 and 1."):
        ls.ConstantLR(opt, factor=2)
    with pytest.raises(ValueError, match="Expected positive integer T_0, but got 0"):
        ls.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="Expected integer T_mult >= 1, but got 0"):
        ls.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="Expected positive integer epoch|Expected non-negative epoch, but got -1"):
        ls.CosineAnnealingWarmRestarts(opt, T_0=2).step(-1)
    with pytest.raises(ValueError, match="expects at least one scheduler, but got no scheduler"):
        ls.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="expects number of schedulers provided to be one more"):
        ls.SequentialLR(opt, [ls.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        ls.CyclicLR(opt, base_lr=0.01, max_lr=0.1, mode="square")
    with pytest.raises(ValueError, match="base_lr must have the same length as optimizer.param_groups"):
        ls.CyclicLR(opt, base_lr=[0.01], max_lr=0.1)
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        ls.ChainedScheduler([ls.ReduceLROnPlateau(opt)])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        ls.ChainedScheduler([ls.StepLR(opt, 2), ls.StepLR(make_optimizer(ember), 2)])


def test_warns_when_scheduler_steps_before_optimizer():
    opt = make_optimizer(ember)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = make_optimizer(ember)
    sched2 = optim.lr_scheduler.ExponentialLR(opt2, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        sched2.step()
    assert sched2.get_last_lr() == [0.05, 0.025]
    opt3 = make_optimizer(ember)
    sched3 = optim.lr_scheduler.StepLR(opt3, step_size=1)
    opt3.step = lambda closure=None: None  # replaced after the scheduler wrapped it
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been overridden"):
        sched3.step()


def test_scheduler_drives_training_like_torch():
    """A full loop: parameters trained with Adam under CosineAnnealingLR match torch's."""
    finals = []
    for lib in (ember, torch):
        p = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        opt = lib.optim.Adam([p], lr=0.1)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        for _ in range(15):
            opt.zero_grad()
            (p * p * p).sum().backward()
            opt.step()
            sched.step()
        finals.append(p.detach().numpy().copy())
    assert finals[0].tolist() == pytest.approx(finals[1].tolist(), rel=1e-5, abs=1e-6)
    assert not math.isnan(finals[0][0])
