"""Driving ``wrk`` (Debian's package) with pre-signed, unique requests.

wrk cannot sign requests, so they are generated and signed beforehand, one per line, and a Lua
script hands each wrk thread its own share, in order, without repeating any. The run reports the
2xx count, the rate and wrk's latency percentiles; which requests got a 2xx is not known, so the
"lost" check compares counts: the first ``answered`` requests of each thread were sent.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.bench.load import Request

SCRIPT = r"""
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  local threads, path = tonumber(args[1]), args[2]
  requests, next_index = {}, 1
  local n = 0
  for line in io.lines(path) do
    if n % threads == tid then
      local sig, content_type, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = content_type, ["X-Twilio-Signature"] = sig }, body)
    end
    n = n + 1
  end
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end
"""
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    """What wrk reported."""

    requests: int
    ok: int
    elapsed: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        """2xx answers per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0


def available() -> bool:
    """Whether ``wrk`` is installed."""
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    request: Callable[[int], Request],
    *,
    count: int,
    connections: int,
    duration: float,
    threads: int = 2,
) -> WrkResult:
    """Post ``count`` distinct requests (cycled if wrk is faster) for ``duration`` seconds."""
    with tempfile.TemporaryDirectory(prefix="coccinelle-wrk-") as tmp:
        lines = Path(tmp) / "requests.tsv"
        with lines.open("w") as out:
            for number in range(count):
                body, headers = request(number)
                signature = headers.get("X-Twilio-Signature", "")
                out.write(f"{signature}\t{headers['Content-Type']}\t{body.decode()}\n")
        script = Path(tmp) / "post.lua"
        script.write_text(SCRIPT)
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s"]
        argv += ["--latency", "-s", str(script), url, "--", str(threads), str(lines)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
    return parse(done.stdout)


def parse(output: str) -> WrkResult:
    """The figures of wrk's report."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if total is None:
        raise RuntimeError(f"unreadable wrk output: {output[-300:]!r}")
    requests = int(total.group(1))
    elapsed = float(total.group(2)) * UNITS[total.group(3)] / 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = int(bad.group(1)) if bad else 0
    return WrkResult(
        requests=requests,
        ok=requests - non_2xx,
        elapsed=elapsed,
        p50_ms=_percentile(output, "50%"),
        p99_ms=_percentile(output, "99%"),
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def _percentile(output: str, label: str) -> float:
    found = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    return float(found.group(1)) * UNITS[found.group(2)] if found else 0.0
