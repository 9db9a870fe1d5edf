"""Equilibrium propagation results table (issue 5): EP vs backprop, device presets, read noise, ADC bits.

Runs every row as its own process (``--workers=N`` at a time, default 2), prints a markdown table per data set and, as
the last stdout line, one JSON object with every figure. Literature figures are quoted beside
(from ../shared/reference/published-figures.md; marked unverified where that file says so).

    .venv/bin/python benchmarks/tables/eqprop_table.py            # digits + MNIST subset
    .venv/bin/python benchmarks/tables/eqprop_table.py --quick    # digits only, fewer epochs
    .venv/bin/python benchmarks/tables/eqprop_table.py --resistive  # resistive network: solvers + learning
    .venv/bin/python benchmarks/tables/eqprop_table.py --only=BPTT,"noise 0.01"  # rows whose label contains one
    .venv/bin/python benchmarks/tables/eqprop_table.py --full     # full MNIST at Scellier & Bengio's setting

``--full`` (issue 17): 784-500-10 on all 60,000 / 10,000 MNIST images, batch 20, at most 20 free / 4 nudged
exact block sweeps (tol 1e-3), symmetric beta 0.5, layer learning rates 0.1 / 0.05 (weights and the biases
they drive); float EP and its backprop twin for 25 epochs, chip rows (ideal, four presets with stochastic
pulses and with mixed precision, read noise, ADC bits) for 5, the 784-500-500-10 network, and the resistive
network DRN-XS. Every epoch of every row is appended to ``--out`` (JSON lines, default
``runs/eqprop_full.jsonl``) as it finishes, so a partial run leaves a partial table; rows already finished
there are not rerun. Options: ``--rows=a,b`` (rows whose label contains one), ``--epochs=N`` (at most N
epochs per row), ``--n-train=N --n-test=M`` (seeded subsets), ``--workers=N`` (rows at a time, default 1),
``--report`` (only tabulate ``--out``). Run it niced with one thread per worker:

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/tables/eqprop_table.py --full --rows="float EP 784-500-10"
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

DIGITS = dict(data="digits", sizes_hidden=[64], epochs=3, batch=10, lr=0.1)
MNIST = dict(data="mnist", sizes_hidden=[100], epochs=2, batch=20, lr=0.05, n_train=2000, n_test=500)


def _rows(base: dict, mnist: bool) -> list[dict]:
    rows = [dict(base, label="EP, ideal chip, deterministic pulses", device="ideal", rule="deterministic"),
            dict(base, label="EP, ideal chip, stochastic pulses", device="ideal", rule="stochastic"),
            dict(base, label="EP, float weights (.grad + SGD)", device=None, rule=None),
            dict(base, label="backprop, float feedforward twin (same layers, init, lr; squared error on the linear readout)",
                 device="backprop", rule=None),
            dict(base, label="BPTT through 30 sweeps of the same energy network (float; squared error on the output drive)",
                 device="bptt", rule=None),
            dict(base, label="backprop twin with EP's clipped-output cost (dead outputs; for the record)",
                 device="backprop", rule=None, clip_output=True),
            dict(base, label="BPTT with EP's clipped-output cost (dead outputs; for the record)", device="bptt", rule=None,
                 clip_output=True)]
    presets = ["ReRAM_SB", "TaOx_HfOx"] if mnist else ["ReRAM_SB", "TaOx_HfOx", "EpiRAM"]
    rows += [dict(base, label=f"EP, {p}, stochastic pulses", device=p, rule="stochastic") for p in presets]
    if not mnist:
        rows += [dict(base, label=f"EP, ideal chip + read noise {r:g} (relative)", device="ideal", rule="deterministic",
                      read_noise=r) for r in (0.01, 0.02, 0.05, 0.1)]
        rows += [dict(base, label=f"EP, ideal chip + {b}-bit ADC (fwd and bwd, range 12)", device="ideal",
                      rule="deterministic", adc_bits=b) for b in (4, 6, 8)]
    return rows


def _ep_network(sizes: list[int], spec: dict):
    """A row's energy network and rule: float (``device`` None) or on tiles of the row's preset,
    with its optional read noise and ADC bits (imports inside: workers set their threads first)."""
    import dataclasses

    from memlearn.devices.presets import get_preset
    from memlearn.devices.read_noise import ReadNoise
    from memlearn.eqprop import EnergyNetwork
    from memlearn.nn.tile import TileConfig
    from memlearn.periphery.adc import ADC
    from memlearn.rules import DeterministicPulse, MixedPrecision, StochasticPulse

    if spec.get("device") is None:
        return EnergyNetwork(sizes, seed=0, analog=False), None
    device = get_preset(spec["device"])
    if spec.get("read_noise"):
        device = dataclasses.replace(device, read_noise=ReadNoise(relative=spec["read_noise"]))
    tile = TileConfig(device=device)
    if spec.get("adc_bits"):
        tile = dataclasses.replace(tile, adc=ADC(bits=spec["adc_bits"]), adc_backward=ADC(bits=spec["adc_bits"]))
    return EnergyNetwork(sizes, tile, seed=0), {"deterministic": DeterministicPulse, "stochastic": StochasticPulse,
                                               "mixed": MixedPrecision}[spec["rule"]]()


def run_row(spec: dict) -> dict:
    import torch

    from memlearn.datasets import load_digits, load_mnist
    from memlearn.eqprop import (EPConfig, EnergyNetwork, EquilibriumPropagation, NudgeConfig, RelaxConfig,
                                 backprop_twin, evaluate_ep, evaluate_feedforward, train_backprop_epoch, train_bptt_epoch,
                                 train_epoch_ep)

    torch.set_num_threads(1)
    data = load_digits() if spec["data"] == "digits" else load_mnist(n_train=spec["n_train"], n_test=spec["n_test"])
    sizes = [data.n_features, *spec["sizes_hidden"], data.n_classes]
    cfg = EPConfig(free=RelaxConfig(max_steps=30, tol=1e-3), nudged=RelaxConfig(max_steps=10, tol=1e-3),
                   nudge=NudgeConfig(beta=0.5, mode="symmetric"))
    g = torch.Generator().manual_seed(0)
    start = time.process_time()
    if spec["device"] == "bptt":
        net = EnergyNetwork(sizes, seed=0, analog=False)
        opt = torch.optim.SGD(net.parameters(), lr=spec["lr"])
        for _ in range(spec["epochs"]):
            train_bptt_epoch(net, opt, data.x_train, data.y_train, spec["batch"], g, cfg.free.max_steps,
                             clip_output=spec.get("clip_output", False))
        acc, steps = evaluate_ep(net, data.x_test, data.y_test, cfg.free), None
    elif spec["device"] == "backprop":
        net = EnergyNetwork(sizes, seed=0, analog=False)
        twin = backprop_twin(net, clip_output=spec.get("clip_output", False))
        opt = torch.optim.SGD(twin.parameters(), lr=spec["lr"])
        for _ in range(spec["epochs"]):
            train_backprop_epoch(twin, opt, data.x_train, data.y_train, spec["batch"], g)
        acc, steps = evaluate_feedforward(twin, data.x_test, data.y_test), None
    else:
        net, rule = _ep_network(sizes, spec)
        learner = EquilibriumPropagation(net, cfg, spec["lr"], rule=rule)
        for _ in range(spec["epochs"]):
            info = train_epoch_ep(learner, data.x_train, data.y_train, spec["batch"], g)
        acc, steps = evaluate_ep(net, data.x_test, data.y_test, cfg.free), info["free_steps"]
    return {"label": spec["label"], "test_accuracy": acc, "free_steps_last_epoch": steps,
            "cpu_s": round(time.process_time() - start, 1)}


LITERATURE = {
    "digits": [],
    "mnist": [
        "Scellier & Bengio 2017 (784-500-10, full MNIST, 25 epochs, float): ~2-2.5% test error (unverified)",
        "Kendall et al. 2020 (SPICE resistive network, 1 hidden layer of 100): ~3.4% test error (unverified)",
        "Scellier 2024 (fast resistive-network simulation, deep resistive net): 1.33% test error (unverified)",
    ],
}


def resistive(epochs: int = 3) -> dict:
    """Exact vs fast solver agreement and cost on a digits batch; then EP training of a 64-32-10
    resistive network (ideal 1000-state conductances, diode pairs) on digits."""
    import torch

    from memlearn.datasets import load_digits
    from memlearn.eqprop import one_hot
    from memlearn.eqprop.resistive import (ResistiveEP, ResistiveEPConfig, ResistiveNetwork, SolverConfig,
                                           evaluate_resistive, solve_exact, solve_fast)

    torch.set_num_threads(1)
    data = load_digits()
    out: dict = {"solvers": []}
    for sizes in ([64, 100, 10], [64, 64, 64, 10]):
        net = ResistiveNetwork(sizes, seed=0)
        x = data.x_train[:64]
        g, v_in, t = net.conductances(), net.input_voltages(x), net.target_voltages(one_hot(data.y_train[:64], 10))
        for beta in (0.0, 1e-6):
            target = None if beta == 0.0 else t
            t0 = time.process_time()
            ex = solve_exact(g, net.config.diode, v_in, target, beta, SolverConfig(tol=1e-12))
            t1 = time.process_time()
            fa = solve_fast(g, net.config.diode, v_in, target, beta, SolverConfig(tol=1e-12, max_iterations=1000))
            t2 = time.process_time()
            diff = max(float((a - b).abs().max()) for a, b in zip(ex.voltages, fa.voltages))
            out["solvers"].append({"sizes": sizes, "beta_S": beta, "max_abs_diff_V": diff,
                                   "newton_iterations": ex.n_iterations, "block_sweeps": fa.n_iterations,
                                   "newton_cpu_s": round(t1 - t0, 4), "block_cpu_s": round(t2 - t1, 4),
                                   "kcl_residual_A": max(float(ex.residual.max()), float(fa.residual.max()))})
    net = ResistiveNetwork([64, 32, 10], seed=0)
    ep = ResistiveEP(net, ResistiveEPConfig())
    g = torch.Generator().manual_seed(0)
    solver = SolverConfig(max_iterations=30, tol=1e-6)
    out["before"] = evaluate_resistive(net, data.x_test, data.y_test, config=solver)
    t0 = time.process_time()
    for _ in range(epochs):
        order = torch.randperm(len(data.x_train), generator=g)
        for s in range(0, len(order), 20):
            idx = order[s:s + 20]
            ep.step(data.x_train[idx], one_hot(data.y_train[idx], 10))
    out["train_cpu_s"] = round(time.process_time() - t0, 1)
    out["epochs"] = epochs
    out["test_accuracy"] = evaluate_resistive(net, data.x_test, data.y_test, config=solver)
    print("| network | beta (S) | max abs V difference exact vs fast | Newton iterations | block sweeps | Newton CPU s | block CPU s | KCL residual (A) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in out["solvers"]:
        print(f"| {'-'.join(map(str, r['sizes']))} | {r['beta_S']:g} | {r['max_abs_diff_V']:.1e} | {r['newton_iterations']} | "
              f"{r['block_sweeps']} | {r['newton_cpu_s']} | {r['block_cpu_s']} | {r['kcl_residual_A']:.1e} |")
    print(f"\nresistive 64-32-10 on digits, {epochs} epochs, batch 20, symmetric beta 1e-6 S, lr 3e-7 S^2/V^2: "
          f"test accuracy {out['before']:.3f} -> {out['test_accuracy']:.3f} ({out['train_cpu_s']} CPU s)")
    return out


FULL = dict(sizes=[784, 500, 10], batch=20, free=20, nudged=4, tol=1e-3, beta=0.5, mode="symmetric", lr=[0.1, 0.05])
"""Scellier & Bengio 2017's 784-500-10 setting (exact block sweeps instead of their eps = 0.5 steps)."""


def full_rows() -> list[dict]:
    """The rows of ``--full``, in the order they run (float first: the chip rows are judged against it)."""
    rows = [dict(FULL, label="float EP 784-500-10", kind="ep", device=None, epochs=25),
            dict(FULL, label="backprop twin 784-500-10", kind="backprop", epochs=25),
            dict(FULL, label="EP ideal chip, stochastic pulses", kind="ep", device="ideal", rule="stochastic", epochs=5)]
    for preset in ("ReRAM_SB", "ECRAM", "EpiRAM", "TaOx_HfOx"):
        for rule, name in (("stochastic", "stochastic pulses"), ("mixed", "mixed precision")):
            rows.append(dict(FULL, label=f"EP {preset}, {name}", kind="ep", device=preset, rule=rule, epochs=5))
    rows += [dict(FULL, label=f"EP ideal chip + read noise {r:g}, stochastic pulses", kind="ep", device="ideal",
                  rule="stochastic", read_noise=r, epochs=5) for r in (0.01, 0.02, 0.05)]
    rows += [dict(FULL, label=f"EP ideal chip + {b}-bit ADC (range 12), stochastic pulses", kind="ep", device="ideal",
                  rule="stochastic", adc_bits=b, epochs=5) for b in (6, 8)]
    rows += [dict(FULL, label="float EP 784-500-500-10", kind="ep", device=None, sizes=[784, 500, 500, 10], free=150,
                  nudged=6, lr=[0.4, 0.1, 0.01], epochs=60),
             dict(FULL, label="backprop twin 784-500-500-10", kind="backprop", sizes=[784, 500, 500, 10],
                  lr=[0.4, 0.1, 0.01], epochs=60),
             dict(label="resistive DRN-XS (2x784 sources, 100 hidden, 10 outputs), EP, fast block solver",
                  kind="resistive", sizes=[784, 100, 10], batch=20, epochs=10)]
    return rows


def _full_row(spec: dict, data, log) -> None:
    """Train one ``--full`` row, calling ``log(record)`` after every epoch."""
    import torch

    from memlearn.eqprop import (EPConfig, EnergyNetwork, EquilibriumPropagation, NudgeConfig, RelaxConfig, backprop_twin,
                                 evaluate_ep, evaluate_feedforward, one_hot, train_backprop_epoch, train_epoch_ep)

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    if spec["kind"] == "resistive":
        from memlearn.eqprop.resistive import ResistiveEP, ResistiveEPConfig, ResistiveNetwork, SolverConfig, evaluate_resistive

        net = ResistiveNetwork(spec["sizes"], seed=0)
        ep = ResistiveEP(net, ResistiveEPConfig())
        solver = SolverConfig(max_iterations=30, tol=1e-6)
        for epoch in range(1, spec["epochs"] + 1):
            t0 = time.perf_counter()
            order = torch.randperm(len(data.x_train), generator=g)
            for s in range(0, len(order), spec["batch"]):
                idx = order[s:s + spec["batch"]]
                ep.step(data.x_train[idx], one_hot(data.y_train[idx], 10))
            log({"epoch": epoch, "epoch_s": time.perf_counter() - t0,
                 "test_accuracy": evaluate_resistive(net, data.x_test, data.y_test, config=solver)})
        return
    cfg = EPConfig(free=RelaxConfig(max_steps=spec["free"], tol=spec["tol"]),
                   nudged=RelaxConfig(max_steps=spec["nudged"], tol=spec["tol"]),
                   nudge=NudgeConfig(beta=spec["beta"], mode=spec["mode"]))
    if spec["kind"] == "backprop":
        twin = backprop_twin(EnergyNetwork(spec["sizes"], seed=0, analog=False))
        linears = [m for m in twin if isinstance(m, torch.nn.Linear)]
        opt = torch.optim.SGD([{"params": list(m.parameters()), "lr": r} for m, r in zip(linears, spec["lr"])])
        for epoch in range(1, spec["epochs"] + 1):
            t0 = time.perf_counter()
            info = train_backprop_epoch(twin, opt, data.x_train, data.y_train, spec["batch"], g)
            log({"epoch": epoch, "epoch_s": time.perf_counter() - t0, "train_accuracy": info["accuracy"],
                 "test_accuracy": evaluate_feedforward(twin, data.x_test, data.y_test)})
        return
    net, rule = _ep_network(spec["sizes"], spec)
    learner = EquilibriumPropagation(net, cfg, spec["lr"], rule=rule)
    for epoch in range(1, spec["epochs"] + 1):
        t0 = time.perf_counter()
        info = train_epoch_ep(learner, data.x_train, data.y_train, spec["batch"], g)
        log({"epoch": epoch, "epoch_s": time.perf_counter() - t0, "train_accuracy": info["accuracy"],
             "free_steps": info["free_steps"], "test_accuracy": evaluate_ep(net, data.x_test, data.y_test, cfg.free)})


def _arg(name: str, default: str | None = None) -> str | None:
    return next((a.split("=", 1)[1] for a in sys.argv if a.startswith(f"--{name}=")), default)


def _full_worker(spec: dict, out: str, n_train: int | None, n_test: int | None) -> str:
    from memlearn.datasets import load_mnist

    data = load_mnist(n_train=n_train, n_test=n_test)

    def log(record: dict) -> None:
        line = dict(record, row=spec["label"], n_train=int(data.x_train.shape[0]), n_test=int(data.x_test.shape[0]))
        with open(out, "a") as f:
            f.write(json.dumps(line) + "\n")
        print("# " + json.dumps(line), file=sys.stderr, flush=True)

    _full_row(spec, data, log)
    log({"done": True, "epochs": spec["epochs"]})
    return spec["label"]


def _read_records(out: str) -> list[dict]:
    from pathlib import Path

    path = Path(out)
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def full() -> dict:
    """``--full``: train the selected rows (skipping those finished in ``--out``), then tabulate ``--out``."""
    from pathlib import Path

    out = _arg("out", "runs/eqprop_full.jsonl")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    n_train = int(_arg("n-train")) if _arg("n-train") else None
    n_test = int(_arg("n-test")) if _arg("n-test") else None
    cap = int(_arg("epochs")) if _arg("epochs") else None
    only = _arg("rows").split(",") if _arg("rows") else None
    rows = [dict(r, epochs=min(r["epochs"], cap) if cap else r["epochs"]) for r in full_rows()
            if only is None or any(o in r["label"] for o in only)]
    if "--report" not in sys.argv:
        finished = {r["row"] for r in _read_records(out) if r.get("done")}
        todo = [r for r in rows if r["label"] not in finished]
        with ProcessPoolExecutor(max_workers=int(_arg("workers", "1"))) as pool:
            for f in [pool.submit(_full_worker, r, out, n_train, n_test) for r in todo]:
                print("# finished:", f.result(), file=sys.stderr, flush=True)
    return full_table(_read_records(out), rows)


FULL_LITERATURE = {
    "float EP 784-500-10": "Scellier & Bengio 2017: ~2-2.5% test error after 25 epochs (unverified)",
    "float EP 784-500-500-10": "Scellier & Bengio 2017: 60 epochs, 150/6 steps, beta 1.0 (unverified)",
    "resistive": "Kendall et al. 2020 (SPICE, 100 hidden): ~3.4% error; Scellier 2024 lists the size as DRN-XS (unverified)",
}


def full_table(records: list[dict], rows: list[dict]) -> dict:
    """Markdown table of the ``--full`` records (last epoch of each row, and epoch 5 of the 25-epoch rows)."""
    by_row: dict[str, list[dict]] = {}
    for r in records:
        by_row.setdefault(r["row"], []).append(r)
    summary = []
    print("| row | epochs run | test accuracy (last epoch) | at epoch 5 | best | s per epoch (median) | finished | literature |")
    print("|---|---|---|---|---|---|---|---|")
    for spec in rows:
        recs = [r for r in by_row.get(spec["label"], []) if "epoch" in r]
        if not recs:
            continue
        last = recs[-1]
        at5 = next((r["test_accuracy"] for r in recs if r["epoch"] == 5), None)
        secs = sorted(r["epoch_s"] for r in recs)[len(recs) // 2]
        done = any(r.get("done") for r in by_row[spec["label"]])
        lit = next((v for k, v in FULL_LITERATURE.items() if k in spec["label"]), "")
        summary.append({"row": spec["label"], "epochs": last["epoch"], "test_accuracy": last["test_accuracy"],
                        "test_accuracy_epoch5": at5, "best": max(r["test_accuracy"] for r in recs),
                        "epoch_s_median": secs, "finished": done, "per_epoch": [r["test_accuracy"] for r in recs],
                        "n_train": last["n_train"], "n_test": last["n_test"]})
        five = "" if at5 is None else f"{100 * at5:.2f}%"
        print(f"| {spec['label']} | {last['epoch']} of {spec['epochs']} | {100 * last['test_accuracy']:.2f}% | {five} | "
              f"{100 * summary[-1]['best']:.2f}% | {secs:.0f} | {'yes' if done else 'no'} | {lit} |")
    return {"setting": FULL, "rows": summary}


def main() -> int:
    if "--full" in sys.argv:
        print(json.dumps(full()))
        return 0
    if "--resistive" in sys.argv:
        print(json.dumps(resistive()))
        return 0
    quick = "--quick" in sys.argv
    sets = [("digits", dict(DIGITS, epochs=2) if quick else DIGITS)] + ([] if quick else [("mnist", MNIST)])
    if "--mnist-only" in sys.argv:
        sets = [("mnist", MNIST)]
    out = {}
    workers = int(next((a.split("=")[1] for a in sys.argv if a.startswith("--workers=")), "2"))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        only = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)
        pick = lambda rows: [r for r in rows if only is None or any(o in r["label"] for o in only)]
        futures = {name: [pool.submit(run_row, spec) for spec in pick(_rows(base, name == "mnist"))] for name, base in sets}
        jobs = {}
        for name, fs in futures.items():
            jobs[name] = []
            for f in fs:
                jobs[name].append(f.result())
                print("# done:", json.dumps(jobs[name][-1]), file=sys.stderr, flush=True)
    for name, base in sets:
        rows = jobs[name]
        what = ("sklearn digits, 1,347 train / 450 test" if name == "digits"
                else f"MNIST subset: {base['n_train']} train / {base['n_test']} test images (seeded), 28x28")
        print(f"\n### {name}: {what}; {len(base['sizes_hidden'])} hidden layer of {base['sizes_hidden'][0]}, "
              f"{base['epochs']} epochs, batch {base['batch']}, lr {base['lr']}, symmetric beta 0.5, 30/10 sweeps\n")
        print("| method | test accuracy | free-phase sweeps (last epoch) | CPU s |")
        print("|---|---|---|---|")
        for r in rows:
            steps = "" if r["free_steps_last_epoch"] is None else f"{r['free_steps_last_epoch']:.1f}"
            print(f"| {r['label']} | {100 * r['test_accuracy']:.1f}% | {steps} | {r['cpu_s']} |")
        for line in LITERATURE[name]:
            print(f"| literature: {line} | | | |")
        out[name] = rows
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
