"""Adam over named tensors whose shapes change (densify, prune, sliding windows).

Replacing a tensor must carry its Adam moments along with the same index operation, or a
surviving Gaussian would inherit another's momentum (gsplat's strategy ops do the same).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor


class NamedAdam:
    """One ``torch.optim.Adam`` with a param group per named tensor."""

    def __init__(self, params: dict[str, Tensor], lrs: dict[str, float]) -> None:
        self.optimizer = torch.optim.Adam(
            [{"params": [p], "lr": lrs[name], "name": name} for name, p in params.items()], eps=1e-15
        )

    def add(self, name: str, param: Tensor, lr: float) -> None:
        """Start optimizing a new named tensor."""
        self.optimizer.add_param_group({"params": [param], "lr": lr, "name": name})

    def replace(self, name: str, new_param: Tensor, moment_fn: Callable[[Tensor], Tensor]) -> None:
        """Swap the tensor called ``name`` for ``new_param``; its moments become ``moment_fn(old)``."""
        group = next(g for g in self.optimizer.param_groups if g["name"] == name)
        old = group["params"][0]
        state = self.optimizer.state.pop(old, None)
        if state:
            for key in ("exp_avg", "exp_avg_sq"):
                state[key] = moment_fn(state[key])
            self.optimizer.state[new_param] = state
        group["params"][0] = new_param

    def step(self) -> None:
        self.optimizer.step()

    def zero_grad(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
