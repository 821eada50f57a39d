"""The one training loop every phase runs (run_steps), its update (optimizer_step) and schedule (cosine_schedule)."""
import math
import time

import torch

from .data import log


class Stopped(Exception):
    """--stop-after reached: the phase has saved its model and state files; --resume continues."""


def optimizer_step(opt, sched, loss, params, max_norm):
    """Backward, gradient-norm clip, step and schedule step: every training loop's update."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    opt.step()
    sched.step()


def progress(t0, step, steps):
    """"<elapsed>s eta <remaining>s" after step (0-based) of steps."""
    el = time.time() - t0
    return f"{el:.0f}s eta {el / (step + 1) * (steps - step - 1):.0f}s"


def cosine_schedule(opt, steps):
    """Linear warm-up over the first 5% of the steps, then a cosine from the base lr to 0 at `steps`."""
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, steps // 20)) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))


def run_steps(label, steps, start, step_fn, save, opts, counted=0):
    """Steps start..steps-1 (0-based) of one run of a phase. step_fn(step) trains one step (optimizer_step
    included) and returns describe(progress) -> the log text after "<label> step <n>/<steps> ". A line is
    logged every opts.log_every steps and at the last; save(n) writes the phase's files after n steps, every
    opts.save_every steps, at the last, and where --stop-after stops the process (raising Stopped, also at a
    run's last step, so that later runs and phases wait for --resume). counted: the phase's
    steps before this run (phase 1's earlier runs), so --stop-after counts the phase's steps in all."""
    t0 = time.time()
    for step in range(start, steps):
        describe = step_fn(step)
        if step % opts.log_every == 0 or step == steps - 1:
            log(f"{label} step {step + 1}/{steps} {describe(progress(t0, step - start, steps - start))}")
        stop = opts.stop_after is not None and counted + step + 1 == opts.stop_after
        if (step + 1) % opts.save_every == 0 or step == steps - 1 or stop:
            save(step + 1)
        if stop:
            raise Stopped(f"{label}: stopped after step {step + 1} of {steps} (--stop-after {opts.stop_after}); "
                          f"--resume continues")
    return t0
