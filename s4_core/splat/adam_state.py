"""Adam over named tensors whose shapes change (densify, prune, sliding windows).

Replacing a tensor must carry its Adam moments along with the same index operation, or a
surviving Gaussian would inherit another's momentum (gsplat's strategy ops do the same).

The update is written out here rather than taken from ``torch.optim.Adam``: constructing the
first ``torch.optim`` optimizer imports ``torch._dynamo`` (about 2 s of pure-Python work, far
longer under a live node's thread contention), which stalled the live pipeline the moment the
splat model started. Nothing here needs more than the textbook update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


@dataclass
class _Slot:
    """One named tensor with its learning rate and first and second moments."""

    param: Tensor
    lr: float
    exp_avg: Tensor
    exp_avg_sq: Tensor
    steps: int = 0


class NamedAdam:
    """Adam (Kingma & Ba) with one learning rate per named tensor; moments follow reshapes.

    Example:
        adam = NamedAdam({"means": means}, {"means": 1e-3})
        adam.zero_grad(); loss.backward(); adam.step()
    """

    def __init__(
        self, params: dict[str, Tensor], lrs: dict[str, float], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-15
    ) -> None:
        self.betas = betas
        self.eps = eps
        self._slots: dict[str, _Slot] = {}
        for name, param in params.items():
            self.add(name, param, lrs[name])

    def add(self, name: str, param: Tensor, lr: float) -> None:
        """Start optimizing a new named tensor."""
        self._slots[name] = _Slot(param, lr, torch.zeros_like(param), torch.zeros_like(param))

    def replace(self, name: str, new_param: Tensor, moment_fn: Callable[[Tensor], Tensor]) -> None:
        """Swap the tensor called ``name`` for ``new_param``; its moments become ``moment_fn(old)``."""
        slot = self._slots[name]
        slot.param, slot.exp_avg, slot.exp_avg_sq = new_param, moment_fn(slot.exp_avg), moment_fn(slot.exp_avg_sq)

    def parameters(self) -> list[Tensor]:
        """Every optimized tensor."""
        return [slot.param for slot in self._slots.values()]

    def moments_of(self, name: str) -> tuple[Tensor, Tensor]:
        """First and second moments of the tensor called ``name``."""
        slot = self._slots[name]
        return slot.exp_avg, slot.exp_avg_sq

    def moments(self) -> list[Tensor]:
        """Every moment tensor (for memory accounting)."""
        return [m for slot in self._slots.values() for m in (slot.exp_avg, slot.exp_avg_sq)]

    @torch.no_grad()
    def step(self) -> None:
        """One bias-corrected Adam update of every tensor that has a gradient."""
        beta1, beta2 = self.betas
        for slot in self._slots.values():
            grad = slot.param.grad
            if grad is None:
                continue
            slot.steps += 1
            slot.exp_avg.lerp_(grad, 1.0 - beta1)
            slot.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
            step_size = slot.lr / (1.0 - beta1**slot.steps)
            denom = (slot.exp_avg_sq / (1.0 - beta2**slot.steps)).sqrt_().add_(self.eps)
            slot.param.addcdiv_(slot.exp_avg, denom, value=-step_size)

    def zero_grad(self) -> None:
        for slot in self._slots.values():
            slot.param.grad = None
