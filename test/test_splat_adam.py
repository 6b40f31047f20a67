"""NamedAdam against torch's own Adam, and moments that follow a reshaped tensor."""

import torch

from s4_core.splat.adam_state import NamedAdam


def _loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a**2).sum() * 0.5 + (b - 3.0).abs().sum() + (a.sum() * b.sum()) ** 2 * 1e-3


def test_updates_equal_torch_adam_with_per_tensor_learning_rates():
    g = torch.Generator().manual_seed(0)
    a0, b0 = torch.randn(5, 3, generator=g), torch.randn(4, generator=g)
    ours = {"a": a0.clone().requires_grad_(), "b": b0.clone().requires_grad_()}
    theirs = {"a": a0.clone().requires_grad_(), "b": b0.clone().requires_grad_()}
    adam = NamedAdam(ours, {"a": 0.05, "b": 0.2}, eps=1e-8)
    reference = torch.optim.Adam([{"params": [theirs["a"]], "lr": 0.05}, {"params": [theirs["b"]], "lr": 0.2}], eps=1e-8)
    for _ in range(25):
        adam.zero_grad()
        reference.zero_grad()
        _loss(ours["a"], ours["b"]).backward()
        _loss(theirs["a"], theirs["b"]).backward()
        adam.step()
        reference.step()
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours["a"], a0), "the parameters must have moved"


def test_replaced_tensor_keeps_the_surviving_rows_moments():
    x = torch.arange(4.0).requires_grad_()
    adam = NamedAdam({"x": x}, {"x": 0.1})
    x.grad = torch.tensor([1.0, -2.0, 3.0, -4.0])
    adam.step()
    keep = torch.tensor([True, False, True, False])
    new_x = torch.cat([x.detach()[keep], torch.zeros(1)]).requires_grad_()
    adam.replace("x", new_x, lambda m: torch.cat([m[keep], m.new_zeros(1)]))
    exp_avg, exp_avg_sq = adam.moments_of("x")
    torch.testing.assert_close(exp_avg, torch.tensor([0.1, 0.3, 0.0]))
    torch.testing.assert_close(exp_avg_sq, torch.tensor([1e-3, 9e-3, 0.0]))
    assert adam.parameters() == [new_x]
