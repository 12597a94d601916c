"""Side by side: `python -m tests.bench.ab RUNS FILE name=command ...` runs each command on FILE
RUNS times, alternating the order each round (so a slow moment of the machine hits both), with GNU
time, and prints each one's median wall and cpu time, MB/s, peak RSS, and the paired ratios
against the first. What BENCHMARKS.md's side-by-side figures for `erasure validate` come from, e.g.
`python -m tests.bench.ab 15 r100.csv "before=/tmp/erasure-before validate"
"after=target/release/erasure validate"`."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile


def main(argv: list[str]) -> None:
    runs, path = int(argv[0]), argv[1]
    cmds = [a.split("=", 1) for a in argv[2:]]
    size = os.path.getsize(path)
    res: dict[str, list[tuple[float, float, float]]] = {n: [] for n, _ in cmds}
    with tempfile.NamedTemporaryFile() as out:
        for i in range(runs):
            for n, c in (cmds if i % 2 == 0 else cmds[::-1]):
                subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", out.name, *c.split(), path],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                e, u, s, m = open(out.name).read().split()[-4:]
                res[n].append((float(e), float(u) + float(s), int(m) / 1024))
    print(f"{runs} runs each, interleaved; load {os.getloadavg()[0]:.2f}")
    base = None
    for n, r in res.items():
        w = sorted(x[0] for x in r)
        c = sorted(x[1] for x in r)
        mw, mc = statistics.median(w), statistics.median(c)
        print(f"{n:10s} wall median {mw:.3f} s ({w[0]:.2f}-{w[-1]:.2f}), {size / 1e6 / mw:.0f} MB/s at the median, "
              f"{size / 1e6 / w[0]:.0f} at best; cpu median {mc:.3f} s ({c[0]:.2f}-{c[-1]:.2f}); "
              f"peak RSS {max(x[2] for x in r):.1f} MiB")
        if base is None:
            base = r
            continue
        rw = sorted(a[0] / b[0] for a, b in zip(r, base))
        rc = sorted(a[1] / b[1] for a, b in zip(r, base))
        print(f"{'':10s} vs first: paired wall ratio median {statistics.median(rw):.2f} ({rw[0]:.2f}-{rw[-1]:.2f}), "
              f"cpu {statistics.median(rc):.2f} ({rc[0]:.2f}-{rc[-1]:.2f})")


if __name__ == "__main__":
    main(sys.argv[1:])
