"""Helpers for running a CS Dojo cohort on one JupyterHub machine (stdlib only).

Used by ``jupyterhub_config.py`` (settings, roster, single-user command), by the operator on the
command line (run as root), by ``scripts/install_hub.sh`` and by the tests::

    python deploy/jupyterhub/cs_dojo_hub.py users roster.csv --passwords-out handout.csv
    python deploy/jupyterhub/cs_dojo_hub.py exchange /srv/nbgrader/exchange
    python deploy/jupyterhub/cs_dojo_hub.py singleuser-env      # print the single-user Python

Everything that the hub needs to know comes from environment variables (``HubSettings``), so the
same configuration serves a study session in ``/srv`` and a throw-away hub in a test's temp folder.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROXY_BIN = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTER_CONFIG = HERE / "jupyter"
# Where install_hub.sh builds the shared-interpreter view of the course venv when needed.
SHARED_ENV_DIR = HERE / ".singleuser-env"

ROLES = ("learner", "trainer")
TRAINER_GROUP = "trainers"
LEARNER_GROUP = "learners"
# Debian's useradd accepts more, but JupyterHub lower-cases names and nbgrader puts the name in
# file names ("<student>+<assignment>+<timestamp>"), so keep to a portable subset.
USERNAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class HubSetupError(Exception):
    """A problem the operator can fix; the message says what, where and how."""


# --------------------------------------------------------------------------------------------
# Settings


def _port(env: dict, name: str, default: int) -> int:
    raw = env.get(name, str(default))
    try:
        port = int(raw)
    except ValueError:
        raise HubSetupError(f"{name}={raw!r} is not a port number; use e.g. {name}={default}") from None
    if not 1 <= port <= 65535:
        raise HubSetupError(f"{name}={port} is outside 1-65535")
    return port


@dataclass
class HubSettings:
    """What a hub for one course needs; each field has an environment variable (see from_env)."""

    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    state_dir: Path = Path("/srv/cs-dojo/hub")
    roster: Path = Path("/srv/cs-dojo/roster.csv")
    exchange_root: Path = Path("/srv/nbgrader/exchange")
    course_id: str = "cs-dojo"
    course_root: str = "~/course"
    admins: list[str] = field(default_factory=list)
    ssl_cert: str = ""
    ssl_key: str = ""
    singleuser_python: str = ""

    @classmethod
    def from_env(cls, env: dict | None = None) -> "HubSettings":
        env = dict(os.environ if env is None else env)
        d = cls()
        course_id = env.get("CS_DOJO_COURSE_ID", d.course_id)
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", course_id):
            raise HubSetupError(
                f"CS_DOJO_COURSE_ID={course_id!r}: use letters, digits, '.', '_' or '-' (it becomes a folder name)"
            )
        admins = [a.strip() for a in env.get("CS_DOJO_HUB_ADMINS", "").split(",") if a.strip()]
        return cls(
            ip=env.get("CS_DOJO_HUB_IP", d.ip),
            port=_port(env, "CS_DOJO_HUB_PORT", d.port),
            hub_port=_port(env, "CS_DOJO_HUB_API_PORT", d.hub_port),
            proxy_api_port=_port(env, "CS_DOJO_PROXY_API_PORT", d.proxy_api_port),
            state_dir=Path(env.get("CS_DOJO_HUB_STATE", d.state_dir)),
            roster=Path(env.get("CS_DOJO_ROSTER", d.roster)),
            exchange_root=Path(env.get("CS_DOJO_EXCHANGE_ROOT", d.exchange_root)),
            course_id=course_id,
            course_root=env.get("CS_DOJO_COURSE_ROOT", d.course_root),
            admins=admins,
            ssl_cert=env.get("CS_DOJO_HUB_SSL_CERT", ""),
            ssl_key=env.get("CS_DOJO_HUB_SSL_KEY", ""),
            singleuser_python=env.get("CS_DOJO_SINGLEUSER_PYTHON", ""),
        )


# --------------------------------------------------------------------------------------------
# Roster


@dataclass(frozen=True)
class RosterEntry:
    username: str
    role: str
    display_name: str = ""


def read_roster(path: Path) -> list[RosterEntry]:
    """Read the hub roster: a UTF-8 CSV with columns ``username,role[,display_name]``.

    ``role`` is ``learner`` or ``trainer``. Blank lines and lines starting with ``#`` are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise HubSetupError(
            f"roster not found: {path}. Create it (columns username,role) or set CS_DOJO_ROSTER; "
            f"see {HERE / 'roster.example.csv'}"
        )
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "username" not in fields or "role" not in fields:
        raise HubSetupError(f"{path}: the header must name the columns username and role (found: {fields})")
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        name, role = row.get("username", ""), row.get("role", "").lower()
        where = f"{path}, row {number}"
        if not USERNAME_RE.match(name):
            raise HubSetupError(
                f"{where}: username {name!r} cannot be a system account; use lower-case letters, digits, "
                "'_' or '-', starting with a letter (at most 32 characters), e.g. tanaka_h"
            )
        if role not in ROLES:
            raise HubSetupError(f"{where}: role {role!r} must be one of {', '.join(ROLES)}")
        if name in seen:
            raise HubSetupError(f"{where}: {name!r} already appears in row {seen[name]}")
        seen[name] = number
        entries.append(RosterEntry(name, role, row.get("display_name", "")))
    if not entries:
        raise HubSetupError(f"{path}: the roster lists nobody")
    return entries


# --------------------------------------------------------------------------------------------
# System accounts (run as root)


def system_user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _require_root(what: str) -> None:
    if os.geteuid() != 0:
        raise HubSetupError(f"{what} needs root (useradd/chpasswd); run it with sudo")


def make_private_home(name: str) -> Path:
    """chmod 0700 the user's home so other learners cannot read their notebooks or fetched feedback."""
    import pwd

    home = Path(pwd.getpwnam(name).pw_dir)
    if home.is_dir() and stat.S_IMODE(home.stat().st_mode) & 0o077:
        home.chmod(0o700)
    return home


def ensure_system_user(entry: RosterEntry, password: str | None = None) -> bool:
    """Create the account (home 0700, own group) if missing; set ``password`` when given.

    Returns True when the account was created.
    """
    _require_root("creating accounts")
    created = False
    if not system_user_exists(entry.username):
        comment = f"CS Dojo {entry.role}" + (f" {entry.display_name}" if entry.display_name else "")
        subprocess.run(
            ["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", "--comment", comment, entry.username],
            check=True,
            capture_output=True,
        )
        created = True
    make_private_home(entry.username)
    if password is not None:
        subprocess.run(["chpasswd"], input=f"{entry.username}:{password}\n", text=True, check=True, capture_output=True)
    return created


def delete_system_user(name: str) -> None:
    """Remove the account and its home (used by tests; operators keep accounts until backups are done)."""
    _require_root("deleting accounts")
    if system_user_exists(name):
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


def add_users(roster: Path, passwords_out: Path | None = None, reset_passwords: bool = False) -> list[str]:
    """Create missing accounts from the roster; new (or reset) accounts get a random password.

    Passwords are written to ``passwords_out`` (mode 0600) for the trainer to hand out.
    """
    entries = read_roster(roster)
    _require_root("creating accounts")
    lines: list[str] = []
    report: list[str] = []
    for entry in entries:
        new = not system_user_exists(entry.username)
        password = secrets.token_urlsafe(9) if (new or reset_passwords) else None
        if password is not None and passwords_out is None:
            raise HubSetupError("new accounts get a random password: pass --passwords-out FILE to keep them")
        ensure_system_user(entry, password)
        if password is not None:
            lines.append(f"{entry.username},{entry.role},{password}")
        report.append(f"{entry.username} ({entry.role}): {'created' if new else 'exists'}")
    if lines and passwords_out is not None:
        passwords_out = Path(passwords_out)
        fd = os.open(passwords_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("username,role,password\n" + "\n".join(lines) + "\n")
        report.append(f"passwords written to {passwords_out} (mode 0600)")
    return report


# --------------------------------------------------------------------------------------------
# nbgrader exchange


def ensure_exchange(root: Path) -> Path:
    """Create the exchange root: world-writable with the sticky bit (1777), like /tmp.

    nbgrader's release/submit need every account to create folders there; the sticky bit stops a
    learner from deleting or renaming folders owned by someone else.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o1777)
    unreachable = [p for p in [*root.parents] if p.exists() and not p.stat().st_mode & stat.S_IXOTH]
    if unreachable:
        raise HubSetupError(
            f"exchange {root}: other accounts cannot enter {unreachable[0]} (chmod o+x it or pick another place)"
        )
    return root


# --------------------------------------------------------------------------------------------
# Single-user environment


def world_executable(path: Path) -> bool:
    """True when an unprivileged account can execute ``path`` (every folder on the way o+x)."""
    real = Path(os.path.realpath(path))
    if not real.exists():
        return False
    if not real.stat().st_mode & stat.S_IXOTH:
        return False
    return all(p.stat().st_mode & stat.S_IXOTH for p in real.parents)


def course_venv() -> Path:
    """The course's virtual environment: ``CS_DOJO_VENV`` or the one running this code."""
    env = os.environ.get("CS_DOJO_VENV")
    return Path(env) if env else Path(sys.prefix)


# Parts of the base interpreter's tree that the single-user servers never need.
_SKIP_STDLIB = {"site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3"}


def _copy_base_python(base_prefix: Path, dest: Path, version: str) -> Path:
    """Copy the interpreter, libpython and the standard library of ``base_prefix`` into ``dest``."""
    exe_name = f"python{version}"
    src_exe = base_prefix / "bin" / exe_name
    if not src_exe.exists():
        raise HubSetupError(f"{src_exe} not found: cannot copy the course's Python for the learners")
    (dest / "bin").mkdir(parents=True, exist_ok=True)
    (dest / "lib").mkdir(exist_ok=True)
    shutil.copy2(src_exe, dest / "bin" / exe_name)
    for link in ("python3", "python"):
        target = dest / "bin" / link
        if not target.is_symlink():
            target.symlink_to(exe_name)
    for lib in (base_prefix / "lib").glob(f"libpython{version}*.so*"):
        if lib.is_symlink():
            out = dest / "lib" / lib.name
            if not out.is_symlink():
                out.symlink_to(os.readlink(lib))
        else:
            shutil.copy2(lib, dest / "lib" / lib.name)
    stdlib = base_prefix / "lib" / exe_name
    shutil.copytree(
        stdlib,
        dest / "lib" / exe_name,
        ignore=lambda d, names: [n for n in names if Path(d) == stdlib and (n in _SKIP_STDLIB or n.startswith("config-"))],
        dirs_exist_ok=True,
        symlinks=True,
    )
    (dest / "lib" / exe_name / "site-packages").mkdir(exist_ok=True)
    _relocate_runpath(dest / "bin" / exe_name, base_prefix / "lib")
    return dest / "bin" / exe_name


def _relocate_runpath(exe: Path, old_libdir: Path) -> None:
    """Point the copied interpreter's RUNPATH at ``$ORIGIN/../lib`` (its own libpython).

    pyenv builds a shared libpython and records its absolute lib folder in RUNPATH. When that
    folder is unreadable for a learner, the loader would fall back to the system's libpython of
    another patch release. The new string is shorter, so it is written in place, NUL-padded.
    """
    data = exe.read_bytes()
    old = str(old_libdir).encode() + b"\0"
    new = b"$ORIGIN/../lib\0"
    if data.count(old) != 1:
        return  # static build, relative RUNPATH already, or nothing we can patch safely
    if len(new) > len(old):
        raise HubSetupError(f"cannot relocate {exe}: its library path {old_libdir} is too short to rewrite")
    exe.write_bytes(data.replace(old, new.ljust(len(old), b"\0")))


def ensure_singleuser_env(venv: Path | None = None, dest: Path = SHARED_ENV_DIR) -> Path:
    """Return a Python every learner account can run that sees the course venv's packages.

    If the course venv's own interpreter is reachable by other accounts, that is the answer. When
    it is not (e.g. pyenv under root's private home), build ``dest``: a copy of the *same*
    interpreter build (binary, libpython, standard library: about 80 MB) whose ``.pth`` file adds
    the course venv's site-packages, whose ``etc/jupyter`` and ``share/jupyter`` point at the
    course venv's (server extensions, JupyterLab assets, kernel specs), and whose ``bin/`` has the
    course venv's console scripts re-pointed at it (``nbgrader``, ``cs-dojo``, ``jupyter``...).
    Idempotent; a second run only re-checks the links and scripts.

    The copy keeps the exact patch release on purpose: Debian 12's python3.11 (3.11.2) has a
    regular-expression bug that breaks soupsieve, hence nbgrader's feedback.
    """
    venv = Path(venv or course_venv()).absolute()
    own = venv / "bin" / "python"
    if not own.exists():
        raise HubSetupError(f"course venv not found at {venv}; run `make setup` or set CS_DOJO_VENV")
    if world_executable(own):
        return own
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / f"python{version}" / "site-packages"
    if not site.is_dir():
        raise HubSetupError(f"{site} missing: is {venv} a Python {version} venv?")
    if not all(p.stat().st_mode & stat.S_IXOTH for p in site.parents) or not site.stat().st_mode & stat.S_IXOTH:
        raise HubSetupError(f"{site} is not reachable by other accounts: chmod o+x the folders above it")
    base_prefix = Path(sys.base_prefix)
    dest = Path(dest).absolute()
    import fcntl

    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / ".singleuser-env.lock", "w") as lock:  # one builder at a time (parallel tests)
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_singleuser_env(venv, site, base_prefix, dest, version)


def _build_singleuser_env(venv: Path, site: Path, base_prefix: Path, dest: Path, version: str) -> Path:
    stamp = dest / ".built-from"
    src_exe = base_prefix / "bin" / f"python{version}"
    identity = f"{src_exe} {sys.version} {src_exe.stat().st_mtime_ns if src_exe.exists() else 0}\n"
    py = dest / "bin" / "python"
    if not py.exists() or not stamp.exists() or stamp.read_text() != identity:
        if dest.exists():
            shutil.rmtree(dest)
        _copy_base_python(base_prefix, dest, version)
        for folder, dirs, files in os.walk(dest):  # readable by all even under a strict umask
            os.chmod(folder, os.stat(folder).st_mode | 0o755)
            for name in files:
                f = os.path.join(folder, name)
                if not os.path.islink(f):
                    os.chmod(f, os.stat(f).st_mode | stat.S_IROTH | stat.S_IRGRP)
        stamp.write_text(identity)
    dest_site = dest / "lib" / f"python{version}" / "site-packages"
    pth = dest_site / "cs_dojo_course_venv.pth"
    want = f"import site; site.addsitedir({str(site)!r})\n"
    if not pth.exists() or pth.read_text() != want:
        pth.write_text(want)
    for sub in ("etc/jupyter", "share/jupyter"):
        link, target = dest / sub, venv / sub
        if target.exists() and not (link.is_symlink() and os.readlink(link) == str(target)):
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.exists():
                shutil.rmtree(link)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(target)
    _rewrite_scripts(venv, dest)
    for folder in [dest, *dest.parents]:
        if not folder.stat().st_mode & stat.S_IXOTH:
            raise HubSetupError(f"{py} is not reachable by other accounts: chmod o+x {folder}")
    return py


def _rewrite_scripts(venv: Path, dest: Path) -> None:
    """Copy the venv's console scripts into ``dest/bin`` with the shebang pointing at ``dest``."""
    shebangs = {f"#!{venv}/bin/python", f"#!{venv}/bin/python3", f"#!{venv}/bin/python3.{sys.version_info.minor}"}
    for script in (venv / "bin").iterdir():
        if not script.is_file() or script.is_symlink() or script.name.startswith(("python", "activate", "Activate")):
            continue
        try:
            first, _, rest = script.read_text(encoding="utf-8").partition("\n")
        except (UnicodeDecodeError, OSError):
            continue
        if first.strip() not in shebangs:
            continue
        text = f"#!{dest}/bin/python\n{rest}"
        out = dest / "bin" / script.name
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
            out.chmod(0o755)


def singleuser_python(settings: HubSettings) -> Path:
    """The interpreter for ``python -m jupyterhub.singleuser``: explicit setting, else ensure_singleuser_env."""
    if settings.singleuser_python:
        return Path(settings.singleuser_python)
    own = course_venv() / "bin" / "python"
    if world_executable(own):
        return own
    built = SHARED_ENV_DIR / "bin" / "python"
    if built.exists() and world_executable(built):
        return built
    return ensure_singleuser_env()


def proxy_command() -> list[str]:
    if not PROXY_BIN.exists():
        raise HubSetupError(f"configurable-http-proxy missing at {PROXY_BIN}: run scripts/install_hub.sh")
    return [str(PROXY_BIN)]


def jupyter_config_path(role: str) -> str:
    """JUPYTER_CONFIG_PATH for a role: role-specific folder first, then the shared nbgrader config."""
    if role not in ROLES:
        raise ValueError(role)
    return os.pathsep.join([str(JUPYTER_CONFIG / role), str(JUPYTER_CONFIG / "common")])


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cs_dojo_hub.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("users", help="create system accounts (home 0700) for everyone in the roster")
    p.add_argument("roster", type=Path)
    p.add_argument("--passwords-out", type=Path, help="CSV (0600) receiving the passwords of new accounts")
    p.add_argument("--reset-passwords", action="store_true", help="give existing accounts new passwords too")
    p = sub.add_parser("exchange", help="create the nbgrader exchange root with mode 1777")
    p.add_argument("root", type=Path, nargs="?", default=None)
    sub.add_parser("singleuser-env", help="print (building if needed) the single-user Python")
    sub.add_parser("check-roster", help="validate the roster named by CS_DOJO_ROSTER").add_argument(
        "roster", type=Path, nargs="?"
    )
    args = parser.parse_args(argv)
    try:
        if args.cmd == "users":
            print("\n".join(add_users(args.roster, args.passwords_out, args.reset_passwords)))
        elif args.cmd == "exchange":
            print(ensure_exchange(args.root or HubSettings.from_env().exchange_root))
        elif args.cmd == "singleuser-env":
            print(ensure_singleuser_env())
        elif args.cmd == "check-roster":
            entries = read_roster(args.roster or HubSettings.from_env().roster)
            for role in ROLES:
                print(f"{role}: {', '.join(e.username for e in entries if e.role == role) or '-'}")
    except HubSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip() if isinstance(exc.stderr, bytes) else exc.stderr
        print(f"error: {' '.join(map(str, exc.cmd))} failed: {detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
