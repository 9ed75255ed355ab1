"""`mmtrial serve`: gunicorn serves the pages and the static files without DEBUG; bad options are
one line on stderr with exit 2."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import mmtrial
from mmtrial.commands._serving import MAX_DEFAULT_WORKERS, default_workers

MMTRIAL = [sys.executable, "-m", "mmtrial"]
START_TIMEOUT_S = 15
CSS = Path(mmtrial.__file__).parent / "web" / "static" / "web" / "mmtrial.css"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.pop("MMTRIAL_DEBUG", None)
    env["MMTRIAL_DATA_DIR"] = str(data_dir)
    return env


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), response.headers.get("Server", "")
    except urllib.error.HTTPError as exc:
        return exc.code, b"", exc.headers.get("Server", "")


def _wait_until_answering(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mmtrial serve exited with {server.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"mmtrial serve did not answer {url} within {START_TIMEOUT_S} s")


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (master and workers), SIGKILL if it lingers."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)


def test_serve_runs_gunicorn_with_pages_and_static_files(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*MMTRIAL, "serve", "--port", str(port), "--workers", "2"],
            env=_environment(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_answering(base + "/login/", server)
            status, body, server_header = _get(base + "/login/")
            assert status == 200
            assert b'name="password"' in body
            assert server_header == "gunicorn"
            css_status, css, _ = _get(base + "/static/web/mmtrial.css")
            assert css_status == 200
            assert css == CSS.read_bytes()
            htmx_status, htmx, _ = _get(base + "/static/web/htmx.min.js")
            assert htmx_status == 200 and b"htmx" in htmx
            assert _get(base + "/static/web/missing.css")[0] == 404
            assert _get(base + "/")[0] == 200  # urllib followed the redirect to the login page
        finally:
            _stop(server)
    output = log.read_text()
    assert f"mmtrial is running: open {base}/" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--workers", "0"], "--workers"),
        (["--threads", "0"], "--threads"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_serve_option_is_one_line_with_exit_2(tmp_path, args, field):
    result = subprocess.run(
        [*MMTRIAL, "serve", *args],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert field in result.stderr
    assert "Traceback" not in result.stderr


def test_port_already_in_use_is_one_line_with_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*MMTRIAL, "serve", "--port", str(port)],
            env=_environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --port:")
    assert result.stderr.strip().count("\n") == 0


def test_default_worker_count_is_twice_the_cores_plus_one_capped():
    assert default_workers(cpu_count=1) == 3
    assert default_workers(cpu_count=2) == 5
    assert default_workers(cpu_count=64) == MAX_DEFAULT_WORKERS
    assert default_workers(cpu_count=None) == 3


@pytest.mark.django_db
def test_static_files_are_served_without_debug_to_anonymous_visitors(client, settings):
    settings.DEBUG = False
    response = client.get("/static/web/mmtrial.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CSS.read_bytes()
    # Django refuses a path that leaves the static folders as a suspicious operation (400).
    assert client.get("/static/web/../../settings.py").status_code in (400, 404)
    assert client.get("/static/web/nothing.css").status_code == 404
