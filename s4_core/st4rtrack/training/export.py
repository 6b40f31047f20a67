"""Ship trained weights: the official formats plus a JSON record of how they were made."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from s4_core.st4rtrack.checkpoint import save_official_pth, save_safetensors
from s4_core.st4rtrack.training.trainer import Trainer, config_to_json

log = logging.getLogger(__name__)


def export_weights(trainer: Trainer, base_path: Path, final_loss: dict[str, float]) -> list[Path]:
    """Write ``<base>.safetensors`` (constructor string in its metadata), ``<base>.pth``
    (upstream's ``{"args", "model"}`` layout) and ``<base>.json`` (training record).

    Returns:
        The paths written.
    """
    base_path = Path(base_path)
    base_path.parent.mkdir(parents=True, exist_ok=True)
    model = trainer.model.cpu().eval()
    paths = [base_path.with_suffix(".safetensors"), base_path.with_suffix(".pth"), base_path.with_suffix(".json")]
    save_safetensors(model, paths[0])
    save_official_pth(model, paths[1])
    record = {
        "steps": trainer.step,
        "train_seconds": round(trainer.train_seconds, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
        "final_loss": final_loss,
        "config": config_to_json(trainer.config),
    }
    paths[2].write_text(json.dumps(record, indent=2) + "\n")
    trainer.model.to(trainer.device)
    log.info("exported weights to %s", ", ".join(str(p) for p in paths))
    return paths
