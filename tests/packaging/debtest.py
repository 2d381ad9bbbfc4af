"""Shared helpers for the packaging tests: where the .deb is, the project version, commands."""
import os
import re
import subprocess
import sys
import unittest

SOURCE_DIR = os.environ.get(
    "FERRY_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
DEB_DIR = os.environ.get("FERRY_DEB_DIR", os.path.join(SOURCE_DIR, "build-deb"))


def project_version():
    """The one place the version lives: project(ferry VERSION x.y.z) in CMakeLists.txt."""
    with open(os.path.join(SOURCE_DIR, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"^project\(ferry VERSION ([0-9.]+)", f.read(), re.M)
    if not m:
        raise RuntimeError("no project(ferry VERSION ...) in CMakeLists.txt")
    return m.group(1)


def host_arch():
    return run(["dpkg-architecture", "-qDEB_HOST_ARCH"]).stdout.strip()


def deb_path():
    return os.path.join(DEB_DIR, "ferry_%s_%s.deb" % (project_version(), host_arch()))


def run(argv, check=True, **kw):
    """Runs argv with output captured as text; a failure shows the command and its output."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=kw.pop("timeout", 120), **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(argv), p.returncode, p.stdout, p.stderr))
    return p


def main():
    """unittest.main, but exit 77 (ctest SKIP_RETURN_CODE) when every test was skipped."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if r.testsRun and len(r.skipped) == r.testsRun:
        sys.exit(77)
    sys.exit(0 if r.wasSuccessful() else 1)
