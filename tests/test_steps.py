"""Work written as steps (mbcost.steps): ``mbcost.analyze`` makes fvcore's JIT
trace in its own frame, with the helpers that prepared it suspended off the
Python stack (the tracer walks the whole stack for every operator and constant
it records: each frame costs time, issue 21)."""

from __future__ import annotations

import sys

import pytest

from mbcost.steps import done, run


def test_run_sends_each_result_and_throws_each_error_back():
    made = []

    def steps():
        made.append((yield lambda: 6 * 7))
        try:
            yield lambda: 1 // 0
        except ZeroDivisionError as exc:
            made.append(type(exc).__name__)
        return "finished"

    assert run(steps()) == "finished" and made == [42, "ZeroDivisionError"]
    assert run(done(5)) == 5


def test_an_error_the_steps_do_not_handle_leaves_through_their_finally_blocks():
    closed = []

    def steps():
        try:
            yield lambda: (_ for _ in ()).throw(KeyboardInterrupt())
        finally:
            closed.append(True)

    with pytest.raises(KeyboardInterrupt):
        run(steps())
    assert closed == [True]


torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")


class Probe(torch.nn.Module):
    """A linear layer whose forward pass notes the Python stack's depth while the JIT traces it (or raises)."""

    def __init__(self, interrupt=False):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)
        self.depths: list[int] = []
        self.interrupt = interrupt

    def forward(self, x):
        if torch._C._get_tracing_state() is not None:
            frame, depth = sys._getframe(), 0
            while frame is not None:
                frame, depth = frame.f_back, depth + 1
            self.depths.append(depth)
            if self.interrupt:
                raise KeyboardInterrupt
        return self.fc(x)


def test_analyze_traces_no_deeper_than_fvcores_own_total():
    import mbcost
    from fvcore.nn import FlopCountAnalysis

    probe = Probe().eval()
    assert mbcost.analyze(probe, input_size=(1, 4)).total.mult_adds == 4 * 2
    FlopCountAnalysis(probe, (torch.zeros(1, 4),)).total()
    ours, fvcore = probe.depths
    # analyze stands where total() stands (it was 7 frames deeper: open_table, the source's table,
    # analyze_user_module, the meta build, analyze_module, fvcore_count)
    assert ours <= fvcore


def test_an_interrupt_during_the_trace_restores_the_model():
    import mbcost

    probe = Probe(interrupt=True)  # in training mode
    weight = probe.fc.weight
    with pytest.raises(KeyboardInterrupt):
        mbcost.analyze(probe, input_size=(1, 4))
    assert probe.fc.weight is weight and not weight.is_meta and probe.training and probe.fc.training
    assert not probe._forward_hooks and not probe.fc._forward_hooks
    assert not probe._forward_pre_hooks and not probe.fc._forward_pre_hooks
    assert torch._C._get_tracing_state() is None and torch.is_grad_enabled()


class ReadsAValue(torch.nn.Module):
    """Fails on the meta device (``.item()``), counted on the CPU after."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x) * (x.sum().item() + 1)


def test_a_count_that_fails_on_meta_leaves_no_hooks_behind():
    """fvcore's trace leaves its scope hooks on every module when the forward pass fails (on meta here); the
    count removes them, so the CPU count after it and the user's model carry none."""
    import mbcost

    model = ReadsAValue().eval()
    table = mbcost.analyze(model, input_size=(1, 4))
    assert (table.device, table.total.mult_adds) == ("cpu", 4 * 2)
    for module in (model, model.fc):
        assert not module._forward_hooks and not module._forward_pre_hooks
