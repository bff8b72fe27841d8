"""The production install and the configuration it is made of: `deploy/stack render` writes the
nginx configuration a stack would use without starting anything, and nginx accepts it;
`deploy/install --root DIR` installs the binary, the systemd unit, the site for the system nginx
with its snippets, logrotate and the example config under a fake root, and each is checked by the
tool that would read it (systemd-analyze verify, nginx -t, logrotate -d) when that tool exists, and
an nginx with the installed site serves the installed pool on loopback."""
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


# --- deploy/install --root -------------------------------------------------------------------

# Debian 12's /etc/nginx/nginx.conf (its http block is where conf.d/*.conf lands: a directive the
# site repeats at that level, e.g. sendfile, is an error there), with the paths an unprivileged
# nginx -t can use.
DEBIAN_NGINX_CONF = """
worker_processes auto;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{
    worker_connections 768;
}}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {tmp}/access.log;
    gzip on;
    include {etc_nginx}/conf.d/*.conf;
}}
"""


def install(root: Path, *args):
    binary = Path(os.environ.get("PARTNERSHIPS_BINARY", REPO / ".build" / "debug" / "partnerships"))
    result = run(REPO / "deploy" / "install", "--binary", binary, "--root", root, *args)
    assert result.returncode == 0, f"deploy/install failed:\n{result.stderr}"
    return result


def config_values(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        values[key] = value
    return values


def unit_values(path: Path) -> dict:
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    return values


@pytest.fixture
def installed(tmp_path):
    root = tmp_path / "root"
    install(root)
    return root


def test_install_puts_every_file_in_place_and_the_pieces_fit_together(installed):
    root = installed
    binary = root / "usr/local/bin/partnerships"
    assert os.access(binary, os.X_OK)
    assert run(binary, "--version").returncode == 0
    config = config_values(root / "etc/partnerships/partnerships.conf")
    unit = unit_values(root / "etc/systemd/system/partnerships.service")
    site = (root / "etc/nginx/conf.d/partnerships.conf").read_text()
    logrotate = (root / "etc/logrotate.d/partnerships").read_text()

    # The unit: its user, the config file, and nothing the config file should say.
    assert unit["User"] == ["partnerships"]
    assert unit["ExecStart"] == ["/usr/local/bin/partnerships serve --config /etc/partnerships/partnerships.conf"]
    assert "--max-requests" not in (root / "etc/systemd/system/partnerships.service").read_text()
    # The socket the pool listens on is the one the site talks to, in the unit's runtime folder.
    assert config["listen"] == "unix:/run/partnerships/partnerships.sock"
    assert "server unix:/run/partnerships/partnerships.sock;" in site
    assert unit["RuntimeDirectory"] == ["partnerships"] and config["run_dir"] == "/run/partnerships"
    assert config["socket_group"] == "www-data" and unit["SupplementaryGroups"] == ["www-data"]
    assert unit["StateDirectory"] == ["partnerships"] and config["data"] == "/var/lib/partnerships"
    assert unit["LogsDirectory"] == ["partnerships"] and config["log_file"] == "/var/log/partnerships/partnerships.log"
    # logrotate: the pool's log folder, then SIGUSR1 to the pid file in the run folder.
    assert logrotate.startswith("#") and "/var/log/partnerships/*.log {" in logrotate
    assert 'kill -USR1 "$(cat /run/partnerships/partnerships.pid)"' in logrotate
    assert "copytruncate" not in logrotate

    # The site's snippets: in their own folder, including one another there; the certificate and
    # the TLS policy apart; no test or benchmark routes.
    snippets = root / "etc/nginx/snippets/partnerships"
    names = {p.name for p in snippets.iterdir()}
    assert {"tls-certificate.conf", "tls.conf", "fastcgi.conf", "api.conf"} <= names
    assert not {"test-routes.conf", "bench-routes.conf"} & names
    assert "ssl_certificate " in (snippets / "tls-certificate.conf").read_text()
    assert "ssl_certificate" not in (snippets / "tls.conf").read_text()
    assert "ssl_protocols" in (snippets / "tls.conf").read_text()
    for text in [site, *(p.read_text() for p in snippets.iterdir())]:
        assert not re.search(r"@[A-Z_]+@", text)
        for include in re.findall(r"include\s+(\S+);", text):
            assert include.startswith("snippets/partnerships/"), include
            assert (root / "etc/nginx" / include).exists(), include
    assert (root / "usr/local/share/doc/partnerships/partnerships.conf.example").exists()
    # At the http level the site adds only what is its own: an access_log there would log every
    # site of the system nginx, a directive Debian's nginx.conf sets (sendfile, ...) would repeat.
    depth, http_level = 0, []
    for line in site.splitlines():
        if depth == 0:
            http_level.append(line.split("#")[0])
        depth += line.count("{") - line.count("}")
    http_text = "\n".join(http_level)
    assert "access_log" not in http_text and "access-log.conf" not in http_text
    for directive in re.findall(r"^\s*([a-z_]+)\s", http_text, re.M):
        assert directive in {"include", "limit_req_zone", "limit_conn_zone", "map", "upstream", "server"}, directive
    assert site.count("include snippets/partnerships/access-log.conf;") == 2


def test_install_keeps_the_operators_config_and_certificate_and_follows_the_config(tmp_path):
    root = tmp_path / "root"
    config = root / "etc/partnerships/partnerships.conf"
    config.parent.mkdir(parents=True)
    config.write_text("listen = unix:/run/pool/api.sock\nrun_dir = /run/pool\nlog_file = /var/log/pool/api.log\nrequest_timeout = 60\n")
    certificate = root / "etc/nginx/snippets/partnerships/tls-certificate.conf"
    certificate.parent.mkdir(parents=True)
    certificate.write_text("ssl_certificate /etc/letsencrypt/live/x/fullchain.pem;\nssl_certificate_key /etc/letsencrypt/live/x/privkey.pem;\n")
    install(root)
    assert config.read_text().startswith("listen = unix:/run/pool/api.sock\n")
    assert "letsencrypt" in certificate.read_text()
    assert "server unix:/run/pool/api.sock;" in (root / "etc/nginx/conf.d/partnerships.conf").read_text()
    assert "fastcgi_read_timeout 65s;" in (root / "etc/nginx/snippets/partnerships/fastcgi-settings.conf").read_text()
    assert "include snippets/partnerships/fastcgi-settings.conf;" in (root / "etc/nginx/snippets/partnerships/fastcgi.conf").read_text()
    logrotate = (root / "etc/logrotate.d/partnerships").read_text()
    assert "/var/log/pool/*.log {" in logrotate and "/run/pool/partnerships.pid" in logrotate


def test_install_refuses_a_config_whose_socket_nginx_cannot_reach(tmp_path):
    root = tmp_path / "root"
    config = root / "etc/partnerships/partnerships.conf"
    config.parent.mkdir(parents=True)
    config.write_text("listen = 127.0.0.1:9000\n")
    binary = Path(os.environ.get("PARTNERSHIPS_BINARY", REPO / ".build" / "debug" / "partnerships"))
    result = run(REPO / "deploy" / "install", "--binary", binary, "--root", root)
    assert result.returncode != 0 and "absolute unix socket" in result.stderr


def test_dry_run_lists_the_files_and_writes_nothing(tmp_path):
    binary = Path(os.environ.get("PARTNERSHIPS_BINARY", REPO / ".build" / "debug" / "partnerships"))
    result = run(REPO / "deploy" / "install", "--binary", binary, "--dry-run", "--root", tmp_path / "root")
    assert result.returncode == 0, result.stderr
    listed = result.stdout.split()
    for path in ("/usr/local/bin/partnerships", "/etc/systemd/system/partnerships.service",
                 "/etc/nginx/conf.d/partnerships.conf", "/etc/nginx/snippets/partnerships/tls.conf",
                 "/etc/logrotate.d/partnerships", "/etc/partnerships/partnerships.conf"):
        assert path in listed
    assert not (tmp_path / "root").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (Debian package systemd)")
def test_systemd_accepts_the_unit(installed, tmp_path):
    # The unit names the binary by its real path; verify finds the installed copy in its place.
    text = (installed / "etc/systemd/system/partnerships.service").read_text()
    unit = tmp_path / "verify" / "partnerships.service"
    unit.parent.mkdir()
    unit.write_text(text.replace("ExecStart=/usr/local/bin/partnerships", f"ExecStart={installed}/usr/local/bin/partnerships"))
    result = run("systemd-analyze", "verify", unit)
    # Unknown keys and sections are only warnings: any output fails the test too.
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), \
        f"systemd-analyze verify:\n{result.stdout}{result.stderr}"


def test_the_system_nginx_accepts_the_site(installed, tmp_path):
    etc_nginx = installed / "etc/nginx"
    scratch = tmp_path / "nginx"
    scratch.mkdir()
    # A throwaway certificate in the certificate's own snippet (what the operator edits), and the
    # site's access log where an unprivileged nginx may open it.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-keyout", str(scratch / "key.pem"), "-out", str(scratch / "cert.pem")],
                   check=True, capture_output=True)
    certificate = etc_nginx / "snippets/partnerships/tls-certificate.conf"
    text = certificate.read_text()
    assert "/etc/ssl/certs/ssl-cert-snakeoil.pem" in text
    certificate.write_text(text.replace("/etc/ssl/certs/ssl-cert-snakeoil.pem", str(scratch / "cert.pem"))
                           .replace("/etc/ssl/private/ssl-cert-snakeoil.key", str(scratch / "key.pem")))
    logging = etc_nginx / "snippets/partnerships/access-log.conf"
    logging.write_text(logging.read_text().replace("/var/log/nginx/partnerships-access.log", str(scratch / "partnerships-access.log")))
    main = etc_nginx / "nginx.conf"
    main.write_text(DEBIAN_NGINX_CONF.format(tmp=scratch, etc_nginx=etc_nginx))
    nginx_test(etc_nginx, main)


def test_logrotate_accepts_its_file(installed, tmp_path):
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate is not installed (Debian package logrotate; deploy/test installs it)")
    import grp
    import pwd
    # The real user and log folder do not exist here: the current user's and a scratch folder.
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "partnerships.log").write_text("{}\n")
    text = (installed / "etc/logrotate.d/partnerships").read_text()
    conf = tmp_path / "logrotate.conf"
    conf.write_text(text.replace("/var/log/partnerships/", f"{logs}/").replace("partnerships partnerships", f"{user} {group}"))
    conf.chmod(0o644)
    result = run("logrotate", "-d", "-s", tmp_path / "logrotate.state", conf)
    assert result.returncode == 0 and "error" not in result.stderr.lower(), f"logrotate -d:\n{result.stdout}{result.stderr}"


def test_the_pool_starts_with_the_installed_config(installed, tmp_path):
    """The config file the unit passes is one the binary accepts (an unknown key or a bad value
    would stop serve at once); the unit's folders are replaced by scratch ones with flags, which
    beat the file."""
    import grp
    import signal
    import time
    binary = installed / "usr/local/bin/partnerships"
    run_dir, socket = tmp_path / "run", tmp_path / "run" / "partnerships.sock"
    process = subprocess.Popen([str(binary), "serve", "--config", str(installed / "etc/partnerships/partnerships.conf"),
                                "--listen", f"unix:{socket}", "--run-dir", str(run_dir), "--data", str(tmp_path / "data"),
                                "--log", str(tmp_path / "partnerships.log"), "--workers", "1",
                                "--socket-group", grp.getgrgid(os.getgid()).gr_name],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None and not (socket.exists() and (run_dir / "partnerships.pid").exists()):
            time.sleep(0.05)
        assert process.poll() is None, f"serve --config <installed config> exited:\n{process.stdout.read()}"
        assert socket.exists() and (run_dir / "partnerships.pid").read_text().strip() == str(process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_the_installed_site_serves_the_installed_pool(tmp_path):
    """The whole chain on loopback: nginx (Debian's nginx.conf, the installed site and snippets) in
    front of `partnerships serve --config <the installed config>`, the config pointing the socket,
    run dir, store and log into a scratch folder (the installer follows it)."""
    import signal
    import time
    from conftest import free_port
    root, scratch = tmp_path / "root", tmp_path / "scratch"
    (scratch / "run").mkdir(parents=True)
    config = root / "etc/partnerships/partnerships.conf"
    config.parent.mkdir(parents=True)
    config.write_text(f"listen = unix:{scratch}/run/partnerships.sock\nrun_dir = {scratch}/run\n"
                      f"data = {scratch}/data\nlog_file = {scratch}/partnerships.log\nworkers = 1\n")
    https_port, http_port = free_port(), free_port()
    install(root, "--https-port", https_port, "--http-port", http_port, "--cert", scratch / "cert.pem", "--key", scratch / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-keyout", str(scratch / "key.pem"), "-out", str(scratch / "cert.pem")],
                   check=True, capture_output=True)
    etc_nginx = root / "etc/nginx"
    access = etc_nginx / "snippets/partnerships/access-log.conf"
    access.write_text(access.read_text().replace("/var/log/nginx/partnerships-access.log", str(scratch / "access.log")))
    # As root nginx's workers would be nobody, outside the scratch folders: root's own here.
    user = "user root root;\n" if os.getuid() == 0 else ""
    temp_paths = "".join(f"    {kind}_temp_path {scratch}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = etc_nginx / "nginx.conf"
    main.write_text(user + DEBIAN_NGINX_CONF.format(tmp=scratch, etc_nginx=etc_nginx).replace("http {\n", "http {\n" + temp_paths, 1))
    pool = subprocess.Popen([str(root / "usr/local/bin/partnerships"), "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    nginx_started = False
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and pool.poll() is None and not (scratch / "run/partnerships.sock").exists():
            time.sleep(0.05)
        assert pool.poll() is None, f"serve exited:\n{pool.stdout.read()}"
        started = run("nginx", "-p", etc_nginx, "-c", main)
        assert started.returncode == 0, f"nginx did not start:\n{started.stderr}"
        nginx_started = True
        answer = None
        while time.monotonic() < deadline:
            answer = run("curl", "-sk", "--max-time", "2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                         f"https://localhost:{https_port}/healthz")
            if answer.stdout.startswith("200"):
                break
            time.sleep(0.1)
        assert answer.stdout == "200 2", f"/healthz through the installed site: {answer.stdout} {answer.stderr}"
        redirect = run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", f"http://localhost:{http_port}/healthz")
        assert redirect.stdout == f"301 https://localhost:{https_port}/healthz"
        missing = run("curl", "-sk", f"https://localhost:{https_port}/nothing-here")
        assert '"status":404' in missing.stdout
        time.sleep(1.2)  # the access log is flushed every second
        assert '"uri":"/healthz"' in (scratch / "access.log").read_text()
    finally:
        if nginx_started:
            master = int((scratch / "nginx.pid").read_text())
            run("nginx", "-p", etc_nginx, "-c", main, "-s", "quit")
            for _ in range(200):  # quit returns at once; the master leaves after its workers
                try:
                    os.kill(master, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                os.kill(master, signal.SIGKILL)
        if pool.poll() is None:
            pool.send_signal(signal.SIGTERM)
            try:
                pool.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pool.kill()
                pool.wait()
