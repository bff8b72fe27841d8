"""The production install and the configuration it is made of: `deploy/stack render` writes the
nginx configuration a stack would use without starting anything, and nginx accepts it;
`deploy/install --root DIR` installs the binary, the systemd unit, the site for the system nginx
with its snippets, logrotate and the example config under a fake root, and each is checked by the
tool that would read it (systemd-analyze verify, nginx -t, logrotate -d) when that tool exists."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(*args, env=None, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})), **kwargs)


def nginx_test(prefix: Path, conf: Path):
    result = run("nginx", "-t", "-p", prefix, "-c", conf)
    assert result.returncode == 0, f"nginx -t rejected {conf}:\n{result.stderr}"
    return result


# --- deploy/stack render ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["option", "environment"])
def test_render_writes_the_stack_config_into_the_state_folder_and_starts_nothing(tmp_path, how):
    state = tmp_path / "state"
    args, env = (["--state", state], {}) if how == "option" else ([], {"STATE": str(state)})
    result = run(REPO / "deploy" / "stack", "render", "--https-port", "18443", "--http-port", "18080", *args, env=env)
    assert result.returncode == 0, result.stderr
    conf = state / "nginx" / "conf" / "nginx.conf"
    assert result.stdout.strip() == str(conf)
    text = conf.read_text()
    assert "18443" in text and str(state) in text
    for snippet in (REPO / "nginx" / "snippets").glob("*.conf"):
        rendered = (state / "nginx" / "conf" / "snippets" / snippet.name).read_text()
        assert not re.search(r"@[A-Z_]+@", rendered), f"unrendered token in {snippet.name}"
    # Nothing runs: no pid files, no socket, nothing listening.
    assert not (state / "nginx" / "nginx.pid").exists()
    assert not (state / "run" / "partnerships.pid").exists()
    assert not (state / "run" / "partnerships.sock").exists()
    # The certificate and the policy are separate snippets, both included.
    assert "include snippets/tls-certificate.conf;" in text and "include snippets/tls.conf;" in text
    nginx_test(state / "nginx", conf)


def test_render_refuses_an_unknown_option(tmp_path):
    result = run(REPO / "deploy" / "stack", "render", "--state", tmp_path / "s", "--no-such-option")
    assert result.returncode != 0 and "unknown option --no-such-option" in result.stderr
