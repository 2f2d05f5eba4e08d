"""One weight step and one architecture step, with mixed precision and their optimiser state."""

import contextlib
import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nas_core.config import SearchConfig
from nas_core.flat import FlatSGD, flat_optimizer_state
from nas_core.supernet import Supernet

log = logging.getLogger(__name__)
IGNORE_INDEX = 255
AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA device is available")
    return torch.device(name)


def segmentation_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-pixel cross-entropy; a batch with every pixel ignored gives a zero loss, not NaN."""
    if not bool((labels != IGNORE_INDEX).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX)


class Stepper:
    """Owns the optimisers; each step builds gradients only for the group it updates."""

    def __init__(self, model: Supernet, config: SearchConfig) -> None:
        self.model, self.config = model, config
        self.device = next(model.parameters()).device
        self.weights, self.arch = model.weight_parameters(), model.arch_parameters()
        self.flat = model.flatten_weights()
        # the stacked leaves the fast path reads are frozen and unfrozen with the weights
        self.trained_weights = self.weights + self.flat.stacked
        # one flat parameter: each update is one kernel over all weights (see nas_core/flat.py)
        self.weight_opt = FlatSGD(
            [self.flat.flat], config.weight_lr, config.momentum, weight_decay=config.weight_decay
        )
        self.arch_opt = torch.optim.Adam(
            self.arch,
            config.arch_lr,
            config.arch_betas,
            weight_decay=config.arch_weight_decay,
            foreach=True,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.weight_opt, T_max=config.epochs, eta_min=config.weight_lr_min
        )
        use_scaler = config.precision == "fp16" and self.device.type == "cuda"
        self.scalers = {
            name: torch.amp.GradScaler("cuda", enabled=use_scaler) for name in ("weight", "arch")
        }

    def weight_lr(self) -> float:
        return float(self.weight_opt.param_groups[0]["lr"])

    def weight_step(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return self._step(
            images, labels, self.trained_weights, self.arch, self.weight_opt, "weight"
        )

    def arch_step(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        return self._step(images, labels, self.arch, self.trained_weights, self.arch_opt, "arch")

    def _step(self, images, labels, train, freeze, optimizer, name: str) -> float:
        _set_requires_grad(freeze, False)
        _set_requires_grad(train, True)
        _zero_grad(optimizer)
        autocast = self.autocast()
        with self._serial_main_thread(autocast):
            with autocast:
                loss = segmentation_loss(*self._forward(images, labels))
            scaler = self.scalers[name]
            scaler.scale(loss).backward()
            if name == "weight" and self.config.grad_clip is not None:
                scaler.unscale_(optimizer)
                params = optimizer.param_groups[0]["params"]
                nn.utils.clip_grad_norm_(params, self.config.grad_clip)
            scaler.step(optimizer)
        scaler.update()
        return float(loss.detach())

    def _forward(self, images: torch.Tensor, labels: torch.Tensor):
        images = images.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        return self.model(images), labels

    def evaluate(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
        autocast = self.autocast()
        with self._serial_main_thread(autocast), autocast:
            logits, labels = self._forward(images, labels)
            loss = segmentation_loss(logits, labels)
        return logits.float().cpu(), float(loss)

    def _serial_main_thread(self, autocast) -> contextlib.AbstractContextManager:
        """The step's main thread on one of torch's threads where node workers share them."""
        enabled = not isinstance(autocast, contextlib.nullcontext)
        return self.model.serial_main_thread(autocast=enabled)

    def autocast(self) -> contextlib.AbstractContextManager:
        dtype = AUTOCAST_DTYPES.get(self.config.precision)
        if dtype is None:
            return contextlib.nullcontext()
        if self.device.type != "cuda" and dtype is torch.float16:
            log.warning("fp16 autocast needs CUDA; running in fp32 on %s", self.device)
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def state_dict(self) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        return {
            "model": self.model.state_dict(),
            "weight_optimizer": self.weight_opt.state_dict(),
            "arch_optimizer": self.arch_opt.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scalers": {name: scaler.state_dict() for name, scaler in self.scalers.items()},
            "rng": rng,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.weight_opt.load_state_dict(
            flat_optimizer_state(state["weight_optimizer"], self.weights, self.flat.order)
        )
        self.arch_opt.load_state_dict(state["arch_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        for name, scaler in self.scalers.items():
            scaler.load_state_dict(state["scalers"][name])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)


def _zero_grad(optimizer: torch.optim.Optimizer) -> None:
    """In place: the flat weights' gradient is shared with the weights' views of it."""
    for group in optimizer.param_groups:
        for param in group["params"]:
            if param.grad is not None:
                param.grad.zero_()


def _set_requires_grad(params: list[nn.Parameter], flag: bool) -> None:
    for param in params:
        param.requires_grad_(flag)
