"""The supernet's weights as views into one flat tensor, their gradients likewise.

The supernet has thousands of small weight tensors, and the optimiser, the gradient clipping and
zeroing each loop over them on the CPU, one small kernel per tensor: at 64 px they took a fifth
of a weight step. With every weight a view of one flat parameter, each of them is one kernel
over one long tensor, with the same elementwise arithmetic.
"""

import torch
from torch import nn


def flatten_parameters(params: list[nn.Parameter]) -> nn.Parameter:
    """Move `params` into one flat parameter (returned) and make each a view of it.

    Each parameter's `.grad` becomes a view of the flat parameter's gradient, so backward
    accumulates into it in place; zero it with `flat.grad.zero_()`, never set it to None.
    The module must not be moved or cast afterwards (that would replace the views).
    """
    first = params[0]
    flat = nn.Parameter(torch.cat([p.detach().reshape(-1) for p in params]))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    for param in params:
        if param.dtype != first.dtype or param.device != first.device:
            raise ValueError("flat parameters need one dtype and one device")
        size = param.numel()
        param.data = flat.data[offset : offset + size].view_as(param)
        param.grad = flat.grad[offset : offset + size].view_as(param)
        offset += size
    return flat


def flat_optimizer_state(state: dict, params: list[nn.Parameter]) -> dict:
    """An optimiser state saved per parameter (before flattening), as the flat optimiser's.

    Lets a checkpoint written by the per-parameter optimiser resume on the flat one.
    """
    group = state["param_groups"][0]
    if len(group["params"]) != len(params):
        return state  # already flat (or not ours): load_state_dict will judge it
    per_param = [state["state"].get(i, {}) for i in group["params"]]
    flat_state = {}
    for name in per_param[0] if per_param else ():
        flat_state[name] = torch.cat([entry[name].reshape(-1) for entry in per_param])
    return {
        "state": {0: flat_state} if flat_state else {},
        "param_groups": [{**group, "params": [0]}],
    }
