#!/usr/bin/env python3
"""SnapOrchestrator benchmark: one command, one table (and JSON).

Measures, on this machine, with the release binary:
  1. orchestration overhead per step: 50 trivial script plugins, pre + post, rehearsal mode;
  2. the freeze window with 8 loop mounts and no snapshot call (target <= 20 ms);
  3. FIFREEZE time with ~200 MB of dirty data, without and with a sync first.
Figures are medians of several runs. Freeze parts need root; they only touch loop-mounted
images created here, and always thaw and unmount.
"""
import json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "snaporch")
RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, capture_output=True, text=True, **kw)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) // 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return {"cpu": cpu, "cores": os.cpu_count(), "memoryMiB": mem, "kernel": platform.release(),
            "snaporch": sh([BIN, "version"]).stdout.strip()}


def bench_overhead(tmp):
    tree = os.path.join(tmp, "overhead")
    os.makedirs(tree, mode=0o755)
    script = os.path.join(tree, "noop.sh")
    write(script, "#!/bin/sh\nexit 0\n", 0o755)
    plugins = "".join(f"  - name: p{i}\n    pre: {script}\n    post: {script}\n" for i in range(50))
    config = os.path.join(tree, "c.yaml")
    write(config, "version: 1\nfreeze:\n  enabled: false\nsnapshot:\n  provider: none\nplugins:\n" + plugins)
    env = dict(os.environ, SNAPORCH_ROOT=tree)
    # The scripts' own cost: fork+exec+run of the same script, 100 times, by a minimal runner.
    own = []
    for _ in range(RUNS):
        t = time.perf_counter()
        for _ in range(100):
            subprocess.run([script], check=True)
        own.append((time.perf_counter() - t) / 100 * 1000)
    per_script_ms = statistics.median(own)
    pipeline, wall = [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        out = sh([BIN, "run", "--config", config, "--no-freeze", "--no-snapshot", "--json"], env=env).stdout
        wall.append((time.perf_counter() - t) * 1000)
        pipeline.append(json.loads(out)["durationMs"])
    steps = 100
    return {
        "scriptOwnMs": round(per_script_ms, 3),
        "pipelineMs": statistics.median(pipeline),
        "wallMs": round(statistics.median(wall), 1),
        "overheadPerStepMs": round((statistics.median(pipeline) - steps * per_script_ms) / steps, 3),
        "overheadPerStepWallMs": round((statistics.median(wall) - steps * per_script_ms) / steps, 3),
    }


class Loops:
    def __init__(self, tmp, n, size_mb=64):
        self.mounts, self.images = [], []
        for i in range(n):
            img, mnt = os.path.join(tmp, f"l{i}.img"), os.path.join(tmp, f"l{i}")
            os.makedirs(mnt)
            sh(f"truncate -s {size_mb}M {img} && mkfs.ext4 -q -F {img} && mount -o loop {img} {mnt}")
            self.mounts.append(mnt)
            self.images.append(img)

    def cleanup(self):
        for m in reversed(self.mounts):
            subprocess.run(f"fsfreeze -u {m} 2>/dev/null; umount {m} || umount -l {m}", shell=True)
        for img in self.images:
            subprocess.run(f"for d in $(losetup -j {img} -O NAME -n); do losetup -d $d; done; rm -f {img}", shell=True)


def bench_window(tmp):
    tree = os.path.join(tmp, "window")
    os.makedirs(tree, mode=0o755)
    loops = Loops(tree, 8)
    try:
        config = os.path.join(tree, "c.yaml")
        write(config, "version: 1\nfreeze:\n  timeout: 10s\nsnapshot:\n  provider: none\n")
        env = dict(os.environ, SNAPORCH_ROOT=tree, SNAPORCH_FREEZE_ALLOW=":".join(loops.mounts))
        args = [BIN, "run", "--config", config, "--no-snapshot", "--json"]
        for m in loops.mounts:
            args += ["--mount", m]
        windows = []
        for _ in range(RUNS * 2):
            report = json.loads(sh(args, env=env).stdout)
            assert all(m["frozen"] and m["thawed"] for m in report["freeze"]["mounts"]), report["freeze"]
            windows.append(report["freeze"]["windowUs"] / 1000)
        return {"mounts": 8, "windowMedianMs": round(statistics.median(windows), 3),
                "windowMaxMs": round(max(windows), 3), "targetMs": 20}
    finally:
        loops.cleanup()


def bench_dirty(tmp):
    tree = os.path.join(tmp, "dirty")
    os.makedirs(tree, mode=0o755)
    loops = Loops(tree, 1, size_mb=512)
    m = loops.mounts[0]
    try:
        without, with_sync, product = [], [], []
        config = os.path.join(tree, "c.yaml")
        write(config, "version: 1\nfreeze:\n  timeout: 30s\nsnapshot:\n  provider: none\n")
        env = dict(os.environ, SNAPORCH_ROOT=tree, SNAPORCH_FREEZE_ALLOW=m)
        for i in range(3):
            for kind in ("without", "with", "product"):
                sh(f"dd if=/dev/urandom of={m}/dirty bs=1M count=200 status=none conv=notrunc")
                if kind == "product":
                    report = json.loads(sh([BIN, "run", "--config", config, "--no-snapshot", "--mount", m, "--json"], env=env).stdout)
                    product.append(report["freeze"]["windowUs"] / 1000)
                    continue
                if kind == "with":
                    sh(f"sync -f {m}")
                t = time.perf_counter()
                sh(f"fsfreeze -f {m}")
                ms = (time.perf_counter() - t) * 1000
                sh(f"fsfreeze -u {m}")
                (without if kind == "without" else with_sync).append(ms)
        return {"dirtyMB": 200, "fifreezeWithoutSyncMs": round(statistics.median(without), 1),
                "fifreezeAfterSyncMs": round(statistics.median(with_sync), 1),
                "snaporchWindowMs": round(statistics.median(product), 1)}
    finally:
        loops.cleanup()


def main():
    if not os.path.exists(BIN) or "--no-build" not in sys.argv:
        subprocess.run(["swift", "build", "-c", "release", "--product", "snaporch"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    results = {"machine": machine(), "runs": RUNS}
    tmp = tempfile.mkdtemp(prefix="snaporch-bench-")
    os.chmod(tmp, 0o755)
    try:
        results["overhead"] = bench_overhead(tmp)
        if os.geteuid() == 0 and os.path.exists("/dev/loop-control"):
            results["window"] = bench_window(tmp)
            results["dirty"] = bench_dirty(tmp)
        else:
            results["skipped"] = "freeze benchmarks need root and loop devices"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m, o = results["machine"], results["overhead"]
    rows = [("orchestration overhead per step (50 plugins, pre+post)", f"{o['overheadPerStepMs']} ms", "<= a few ms"),
            ("  same, including snaporch start-up (wall)", f"{o['overheadPerStepWallMs']} ms", ""),
            ("  a trivial script's own fork+exec+run", f"{o['scriptOwnMs']} ms", "")]
    if "window" in results:
        w, d = results["window"], results["dirty"]
        rows += [("freeze window, 8 loop mounts, no snapshot (median)", f"{w['windowMedianMs']} ms", "<= 20 ms"),
                 ("  worst of runs", f"{w['windowMaxMs']} ms", ""),
                 ("FIFREEZE with 200 MB dirty, no sync first", f"{d['fifreezeWithoutSyncMs']} ms", "report"),
                 ("FIFREEZE with 200 MB dirty, after sync", f"{d['fifreezeAfterSyncMs']} ms", "report"),
                 ("snaporch window with 200 MB dirty (syncs first)", f"{d['snaporchWindowMs']} ms", "report")]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memoryMiB']} MiB, kernel {m['kernel']}, {m['snaporch']}")
    width = max(len(r[0]) for r in rows)
    print(f"{'figure'.ljust(width)}  {'value':>12}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>12}  {target}")
    out = os.path.join(ROOT, ".build", "bench.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"json: {out}")


if __name__ == "__main__":
    main()
