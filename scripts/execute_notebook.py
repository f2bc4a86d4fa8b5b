#!/usr/bin/env python3
"""Execute one Jupyter notebook headless with nbclient, cell by cell.

Used by scripts/run-notebooks.ts; not meant to be called by hand (but it can be):

    python3 scripts/execute_notebook.py --input nb.ipynb --output out.ipynb \
        --failed-output out.failed.ipynb --report report.json \
        --kernel tslab --cwd notebooks --silence 1800 --progress

A cell may run as long as it likes while it shows signs of life: --silence S fails a cell that
sends nothing (no output, no display update) for S seconds. --timeout S caps a cell's total time
(default: no cap). With --progress, each code cell's start (index and first line) and the
notebook's own output lines (stdout/stderr streams, prefixed "    | ") are printed to stdout as
they come, so a long headless run shows where it is.

On success the executed notebook is written to --output (temp file + rename).
On failure the partially executed notebook goes to --failed-output and the exit
status is 1. In both cases a JSON report (timings, and on failure the failing
cell and its error text) is written to --report.

The kernel is found through the usual Jupyter search path, so the caller sets
JUPYTER_PATH; the kernel inherits this process's environment (LGD_QUICK etc.).
"""

import argparse
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import Float

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TAIL_LINES = 40


def strip_ansi(text):
    return ANSI.sub("", text)


def write_atomic(nb, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def source_text(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def first_line(cell):
    for line in source_text(cell).splitlines():
        if line.strip():
            return line.strip()
    return ""


def cell_error_text(cell):
    """All error-ish text of a cell's outputs: error outputs and stderr streams.

    tslab does not send `error` messages: compile diagnostics and uncaught
    exceptions are printed to the cell's stderr stream instead.
    """
    parts = []
    names = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error":
            names.append("%s: %s" % (out.get("ename", "Error"), out.get("evalue", "")))
            parts.append("\n".join(out.get("traceback", [])))
        elif kind == "stream" and out.get("name") == "stderr":
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
    return names, strip_ansi("".join(p if p.endswith("\n") else p + "\n" for p in parts if p))


ERROR_LINE = re.compile(r"^\s*(Uncaught\s+)?([A-Za-z_$][\w$]*(Error|Exception)|Error)\b[^:\n]{0,80}:\s")
# Stack frames of tslab / node internals, dropped from the error tail shown to the user.
INTERNAL_FRAME = re.compile(r"^\s+at .*(/node_modules/(tslab|commander|zeromq)/|\(node:|sigintHandlersWrap| node:)")
TS_DIAG = re.compile(r"^(\S+\s)?\d+:\d+ - ")


def summarize(names, text, fallback):
    """One-line error summary: `ename: evalue`, a JS `XxxError: msg` line, or TS diagnostics."""
    if names:
        return names[0]
    lines = [l for l in text.splitlines() if l.strip()]
    diags = [l.strip() for l in lines if TS_DIAG.match(l)]
    if diags:
        more = " (+%d more)" % (len(diags) - 3) if len(diags) > 3 else ""
        return "TypeScript: " + "; ".join(diags[:3]) + more
    for line in lines:
        if ERROR_LINE.match(line):
            return line.strip()
    if lines:
        return lines[-1].strip()
    return fallback


class ActivityClient(NotebookClient):
    """A NotebookClient that notes when the running cell last sent anything (for the silence
    watchdog) and, optionally, echoes the cell's stream output line by line."""

    # Seconds, not whole seconds: a start-up limit below a kernel's start time is how the runner's
    # tests make a kernel fail to start.
    startup_timeout = Float(120)

    def __init__(self, *args, echo=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.last_activity = time.monotonic()
        self._echo = echo
        self._partial = {}

    def touch(self):
        self.last_activity = time.monotonic()

    def process_message(self, msg, cell, cell_index):
        self.touch()
        if self._echo is not None and msg.get("msg_type") == "stream":
            text = msg["content"].get("text", "")
            name = msg["content"].get("name", "stdout")
            buf = self._partial.get(name, "") + strip_ansi(text).replace("\r\n", "\n").replace("\r", "\n")
            *lines, rest = buf.split("\n")
            self._partial[name] = rest
            for line in lines:
                self._echo(line)
        return super().process_message(msg, cell, cell_index)

    def flush_echo(self):
        if self._echo is not None:
            for name in sorted(self._partial):
                if self._partial[name]:
                    self._echo(self._partial[name])
        self._partial = {}


class SilenceWatchdog(threading.Thread):
    """Kills the kernel when the running cell has sent nothing for `limit` seconds.

    nbclient's own timeout counts a cell's total time, which fails long but healthy cells on a
    busy machine; this one counts silence only. Killing the kernel (its process group) makes
    nbclient raise DeadKernelError within a second; `fired` then says why."""

    def __init__(self, client, limit):
        super().__init__(daemon=True)
        self.client = client
        self.limit = limit
        self.running = False
        self.fired = None  # the silence in seconds when it fired
        self._stop = threading.Event()

    def start_cell(self):
        self.client.touch()
        self.running = True

    def end_cell(self):
        self.running = False

    def stop(self):
        self._stop.set()

    def run(self):
        step = min(1.0, max(0.05, self.limit / 20.0))
        while not self._stop.wait(step):
            if not self.running or self.fired is not None:
                continue
            quiet = time.monotonic() - self.client.last_activity
            if quiet > self.limit:
                self.fired = quiet
                try:
                    kill_kernel_process(self.client)
                except Exception:
                    pass


def fmt_seconds(s):
    if s < 59.5:
        return "%.1f s" % s if s < 10 else "%d s" % round(s)
    total = int(round(s))
    m = total // 60
    if m >= 60:
        return "%d h %02d min" % (m // 60, m % 60)
    return "%d min %d s" % (m, total % 60) if total % 60 else "%d min" % m


def stop_on_signals():
    """SIGINT/SIGTERM -> KeyboardInterrupt once; repeats are ignored so the kernel shutdown
    in setup_kernel's cleanup is not interrupted (the runner forwards signals it gets)."""
    def handler(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def kill_kernel_process(client):
    """SIGKILL the kernel's process group (the kernel runs in its own session); True if it was alive."""
    km = getattr(client, "km", None) if client is not None else None
    proc = getattr(getattr(km, "provisioner", None), "process", None) if km is not None else None
    if proc is None or proc.poll() is not None:
        return False
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait(timeout=10)
    return True


def kill_leftover_kernel(client):
    """Kill the kernel if nbclient's own cleanup did not run (e.g. a signal during start-up,
    which setup_kernel does not guard)."""
    km = getattr(client, "km", None) if client is not None else None
    if km is None:
        return
    try:
        kill_kernel_process(client)
        km.cleanup_connection_file()
    except Exception:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--failed-output", default=None)
    ap.add_argument("--report", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--cwd", required=True)
    ap.add_argument("--timeout", type=float, default=0, help="cap on a cell's total seconds; <= 0: none (default)")
    ap.add_argument("--silence", type=float, default=1800,
                    help="fail a cell that sends no output for this many seconds; <= 0: never (default 1800)")
    ap.add_argument("--startup-timeout", type=float, default=120)
    ap.add_argument("--progress", action="store_true",
                    help="print each code cell's start and the notebook's output lines to stdout")
    ap.add_argument("--previous-cells", default=None,
                    help='JSON {"cell index": seconds} of a previous run, shown beside each cell')
    ap.add_argument("--verbose", action="store_true", help="print one line per finished code cell to stdout")
    args = ap.parse_args()
    previous = {}
    if args.previous_cells:
        try:
            previous = {int(k): float(v) for k, v in json.loads(args.previous_cells).items()}
        except (ValueError, AttributeError):
            previous = {}

    stop_on_signals()
    t0 = time.time()
    report = {"ok": False, "input": args.input}

    def finish(code):
        report["total_s"] = round(time.time() - t0, 3)
        tmp = args.report + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, args.report)
        sys.exit(code)

    nb = nbformat.read(args.input, as_version=4)
    ks = nb.metadata.get("kernelspec", {})
    if ks.get("name") != args.kernel:
        nb.metadata["kernelspec"] = {
            "name": args.kernel,
            "display_name": ks.get("display_name", args.kernel),
            "language": ks.get("language", "typescript"),
        }

    timeout = int(math.ceil(args.timeout)) if args.timeout and args.timeout > 0 else None
    cells = nb.cells
    n_code = sum(1 for c in cells if c.cell_type == "code")
    timings = []
    report["cells"] = timings
    current = None  # (index, cell, code_number, t_start)
    client = None
    watchdog = None
    silence = args.silence if args.silence and args.silence > 0 else None

    def echo(line):
        line = line.rstrip()
        if len(line) > 200:
            # Head and tail: a progress line's counts and ETA are at its end.
            line = line[:117] + " ... " + line[-78:]
        print("    | " + line, flush=True)

    try:
        client = ActivityClient(
            nb,
            echo=echo if args.progress else None,
            kernel_name=args.kernel,
            timeout=timeout,
            startup_timeout=args.startup_timeout,
            allow_errors=False,
            record_timing=True,
            resources={"metadata": {"path": os.path.abspath(args.cwd)}},
        )
        client.reset_execution_trackers()
        if silence:
            watchdog = SilenceWatchdog(client, silence)
            watchdog.start()
        with client.setup_kernel():
            report["kernel_start_s"] = round(time.time() - t0, 3)
            # As NotebookClient.execute does: language_info from the kernel, numbered cells.
            info = client.wait_for_reply(client.kc.kernel_info())
            if info is not None and "language_info" in info["content"]:
                nb.metadata["language_info"] = info["content"]["language_info"]
            code_no = 0
            for index, cell in enumerate(cells):
                if cell.cell_type != "code":
                    continue
                code_no += 1
                if not source_text(cell).strip():
                    continue
                t1 = time.time()
                current = (index, cell, code_no, t1)
                if args.progress:
                    last = " (last run %s)" % fmt_seconds(previous[index]) if index in previous else ""
                    print("  cell %d/%d [index %d]%s: %s"
                          % (code_no, n_code, index, last, first_line(cell)[:100]), flush=True)
                if watchdog:
                    watchdog.start_cell()
                try:
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                finally:
                    if watchdog:
                        watchdog.end_cell()
                    client.flush_echo()
                dt = time.time() - t1
                timings.append({"index": index, "s": round(dt, 3)})
                current = None
                if args.verbose and args.progress:
                    print("  cell %d/%d done in %s" % (code_no, n_code, fmt_seconds(dt)), flush=True)
                elif args.verbose:
                    print("    cell %d/%d (index %d) %.1f s  %s"
                          % (code_no, n_code, index, dt, first_line(cell)[:60]), flush=True)
            client.set_widgets_metadata()
    except Exception as exc:  # CellExecutionError, CellTimeoutError, DeadKernelError, start-up errors
        failure = {"kind": type(exc).__name__}
        if current is not None:
            index, cell, code_no, t1 = current
            names, text = cell_error_text(cell)
            if watchdog is not None and watchdog.fired is not None:
                failure["kind"] = "silence"
                summary = ("no output from the cell for %s (silence limit %s s; the cell had run %s): "
                           "the kernel was stopped. A long cell is fine while it prints progress; "
                           "raise the limit with --silence S or LGD_SILENCE_TIMEOUT"
                           % (fmt_seconds(watchdog.fired), ("%g" % silence), fmt_seconds(time.time() - t1)))
            elif isinstance(exc, CellTimeoutError):
                summary = "cell timed out after %s s in all (cap set by --timeout / LGD_CELL_TIMEOUT)" % (
                    int(timeout) if timeout else "?")
            elif isinstance(exc, DeadKernelError):
                summary = "kernel died while executing the cell"
            else:
                exc_lines = strip_ansi(str(exc)).strip().splitlines()
                summary = summarize(names, text, exc_lines[-1] if exc_lines else type(exc).__name__)
            tail = [l for l in text.rstrip("\n").splitlines() if not INTERNAL_FRAME.search(l)][-TAIL_LINES:]
            failure.update({
                "cell_index": index,
                "code_cell": code_no,
                "code_cells": n_code,
                "execution_count": cell.get("execution_count"),
                "first_line": first_line(cell),
                "source": source_text(cell),
                "summary": summary,
                "tail": "\n".join(tail),
                "elapsed_s": round(time.time() - t1, 3),
            })
        else:
            # Kernel start-up (or something outside a cell) failed.
            failure.update({
                "summary": "%s: %s" % (type(exc).__name__, strip_ansi(str(exc)).strip()[:2000]),
                "tail": "\n".join(traceback.format_exc().splitlines()[-TAIL_LINES:]),
            })
        report["failure"] = failure
        if args.failed_output:
            try:
                write_atomic(nb, args.failed_output)
                report["failed_output"] = args.failed_output
            except Exception:  # never hide the real error
                pass
        finish(1)
    except KeyboardInterrupt:
        report["failure"] = {"kind": "interrupted", "summary": "interrupted by a signal"}
        finish(130)
    finally:
        if watchdog is not None:
            watchdog.stop()
        kill_leftover_kernel(client)

    write_atomic(nb, args.output)
    report["ok"] = True
    report["output"] = args.output
    finish(0)


if __name__ == "__main__":
    main()
