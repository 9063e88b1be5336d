"""Write the venv's `pypod` command as a lean launcher (run by setup.sh).

pip's console script imports `re` and runs under site.py, whose .pth hooks
(setuptools' distutils shim among them) run at every start: together about
10 ms of each `pypod` call, more than `pypod --version` itself should take.
The launcher starts Python with -S and puts on sys.path the two places
site.py would have added for pypod: the source tree (an editable install)
and the venv's site-packages (the service's dependencies).  Run
`pip install -e .` again and pip's slower script is back, working the same.

The two go after the standard library, where site.py would put them, and
the launcher's own directory (sys.path[0], where nothing is imported from)
goes: each module a command imports is looked up along sys.path in order,
a directory checked each time, and 40 to 60 standard modules found at the
first place instead of the fourth save a run or exec ~1.5 ms.
"""

from __future__ import annotations

import os
import sys
import sysconfig

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bindir = os.path.dirname(os.path.abspath(sys.executable))
paths = list(dict.fromkeys([repo, sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]))
text = f"""#!{os.path.join(bindir, "python3")} -S
# pypod's launcher, written by scripts/write_launcher.py (see there why).
import sys
del sys.path[0]
sys.path += {paths!r}
from pypod.cli.main import launch
launch()
"""
target = os.path.join(bindir, "pypod")
tmp = f"{target}.{os.getpid()}.tmp"
with open(tmp, "w") as f:
    f.write(text)
os.chmod(tmp, 0o755)
os.replace(tmp, target)
