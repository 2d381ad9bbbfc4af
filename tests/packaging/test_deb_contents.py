"""Inspects the built ferry_<version>_<arch>.deb without installing it: control fields and
Depends, the file list with owners and modes, conffiles, maintainer scripts, lintian, and the
programs inside it (version, packaged configuration accepted)."""
import os
import re
import shutil
import tempfile
import unittest

import debtest
from debtest import SOURCE_DIR, run

# Every path the package may ship (directories excepted). Anything else is a packaging mistake
# (a stray build file, a test binary); anything missing is one too.
EXPECTED_FILES = {
    "./usr/bin/ferryd",
    "./usr/bin/ferryctl",
    "./etc/ferry/ferry.toml",
    "./etc/ferry/conf.d/README",
    "./etc/ferry/rules.d/example.toml.disabled",
    "./lib/systemd/system/ferry.service",
    "./usr/lib/sysusers.d/ferry.conf",
    "./usr/lib/tmpfiles.d/ferry.conf",
    "./usr/share/man/man8/ferryd.8.gz",
    "./usr/share/man/man1/ferryctl.1.gz",
    "./usr/share/doc/ferry/copyright",
    "./usr/share/doc/ferry/changelog.gz",
}
CONFFILES = {"/etc/ferry/ferry.toml", "/etc/ferry/conf.d/README",
             "/etc/ferry/rules.d/example.toml.disabled"}
ACCEPTED_LINTIAN = os.path.join(os.path.dirname(__file__), "lintian-accepted.txt")


def accepted_lintian_tags():
    tags = set()
    with open(ACCEPTED_LINTIAN, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                tags.add(line)
    return tags


class DebContents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = debtest.deb_path()
        if not os.path.exists(cls.deb):
            raise unittest.SkipTest("%s not built (run packaging_build_deb or make deb)" % cls.deb)
        cls.tmp = tempfile.mkdtemp(prefix="ferry-debinspect-")
        cls.root = os.path.join(cls.tmp, "root")
        cls.control = os.path.join(cls.tmp, "DEBIAN")
        run(["dpkg-deb", "-x", cls.deb, cls.root])
        run(["dpkg-deb", "-e", cls.deb, cls.control])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def field(self, name):
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def script(self, name):
        with open(os.path.join(self.control, name), encoding="utf-8") as f:
            return f.read()

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), "ferry")
        # One version: the CMake project's.
        self.assertEqual(self.field("Version"), debtest.project_version())
        self.assertEqual(self.field("Architecture"), debtest.host_arch())

    def test_depends_computed_by_shlibdeps(self):
        depends = self.field("Depends")
        for lib in ("libc6", "libqt6core6", "libqt6network6", "libsystemd0", "libstdc++6"):
            self.assertRegex(depends, r"(^|, )%s( |,|$)" % re.escape(lib), depends)
        # dh_installsysusers: postinst runs systemd-sysusers.
        self.assertIn("systemd | systemd-standalone-sysusers | systemd-sysusers", depends)
        # Build-only packages must not leak into Depends.
        self.assertNotRegex(depends, r"-dev\b")

    def test_file_list(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout.splitlines()
        files = {}
        for line in listing:
            mode, owner, _size, _date, _time, path = line.split(None, 5)
            path = path.split(" -> ")[0]
            if not mode.startswith("d"):
                files[path] = (mode, owner)
        self.assertEqual(set(files), EXPECTED_FILES)
        for path, (mode, owner) in files.items():
            self.assertEqual(owner, "root/root", path)
        self.assertEqual(files["./usr/bin/ferryd"][0], "-rwxr-xr-x")
        self.assertEqual(files["./usr/bin/ferryctl"][0], "-rwxr-xr-x")
        self.assertEqual(files["./etc/ferry/ferry.toml"][0], "-rw-r--r--")

    def test_conffiles(self):
        self.assertEqual(set(self.script("conffiles").split()), CONFFILES)

    def test_postinst_creates_user_and_state_and_enables_service(self):
        postinst = self.script("postinst")
        self.assertIn("systemd-sysusers", postinst)
        self.assertIn("ferry.conf", postinst)
        self.assertIn("systemd-tmpfiles", postinst)
        self.assertIn("deb-systemd-helper", postinst)
        self.assertIn("ferry.service", postinst)
        # The user must exist before tmpfiles chowns /var/lib/ferry to it.
        self.assertLess(postinst.index("systemd-sysusers"), postinst.index("systemd-tmpfiles"))

    def test_postrm_purge_removes_state_and_user(self):
        postrm = self.script("postrm")
        self.assertRegex(postrm, r'"\$1" = "purge"')
        self.assertIn("rm -rf /var/lib/ferry", postrm)
        self.assertIn("userdel ferry", postrm)
        self.assertIn("deb-systemd-helper purge", postrm)

    def test_prerm_stops_service(self):
        self.assertIn("ferry.service", self.script("prerm"))

    def test_sysusers_and_tmpfiles(self):
        with open(os.path.join(self.root, "usr/lib/sysusers.d/ferry.conf")) as f:
            self.assertRegex(f.read(), r"(?m)^u ferry - .* /var/lib/ferry /usr/sbin/nologin$")
        with open(os.path.join(self.root, "usr/lib/tmpfiles.d/ferry.conf")) as f:
            self.assertRegex(f.read(), r"(?m)^d /var/lib/ferry 0750 ferry ferry -$")

    def test_programs_run_and_accept_packaged_config(self):
        ferryd = os.path.join(self.root, "usr/bin/ferryd")
        p = run([ferryd, "--version"])
        self.assertIn(debtest.project_version(), p.stdout)
        p = run([os.path.join(self.root, "usr/bin/ferryctl"), "--version"])
        self.assertIn(debtest.project_version(), p.stdout)
        p = run([ferryd, "--check-config", os.path.join(self.root, "etc/ferry/ferry.toml")])
        self.assertIn("OK", p.stdout)

    def test_packaged_files_are_the_source_files(self):
        for src, dst in (("packaging/etc/ferry.toml", "etc/ferry/ferry.toml"),
                         ("packaging/debian/ferry.service", "lib/systemd/system/ferry.service")):
            with open(os.path.join(SOURCE_DIR, src), "rb") as a, \
                    open(os.path.join(self.root, dst), "rb") as b:
                self.assertEqual(a.read(), b.read(), dst)

    def test_lintian_has_no_errors_and_only_accepted_warnings(self):
        p = run(["lintian", "--no-tag-display-limit", "--display-info", self.deb],
                check=False, timeout=300)
        tags = re.findall(r"^([EWIXPO]): ferry[^:]*: (\S+)", p.stdout, re.M)
        errors = [t for level, t in tags if level == "E"]
        self.assertEqual(errors, [], p.stdout)
        accepted = accepted_lintian_tags()
        unexpected = sorted({t for level, t in tags if level == "W" and t not in accepted})
        self.assertEqual(unexpected, [], p.stdout)
        print(p.stdout)


if __name__ == "__main__":
    debtest.main()
