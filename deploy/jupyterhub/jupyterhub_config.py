"""JupyterHub for a CS Dojo study session on one machine (run as root: `jupyterhub -f this_file`).

Choices (see deploy/README.md for the reasoning):
- Accounts: one Linux account per person, created from the roster by ``cs_dojo_hub.py users``
  (home 0700). Login with PAM, so each person has a password of their own. A shared-password
  authenticator was rejected: anyone holding it can log in as anyone, which would let a learner
  open another learner's notebooks.
- Spawner: LocalProcessSpawner, i.e. each single-user server runs as its owner's account, so the
  operating system keeps learners apart (file modes), not our code.
- Single-user environment: the course's venv (`python -m jupyterhub.singleuser`), through a
  shared-interpreter view when the venv's Python is not reachable by other accounts.
- nbgrader: one course per hub, exchange root shared with mode 1777; the hub group ``trainers``
  gets formgrader and course-list, learners get the assignment list only.

Every setting comes from an environment variable (cs_dojo_hub.HubSettings), e.g.
CS_DOJO_ROSTER, CS_DOJO_EXCHANGE_ROOT, CS_DOJO_COURSE_ID, CS_DOJO_HUB_STATE, CS_DOJO_HUB_PORT.
"""
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import cs_dojo_hub as hub  # noqa: E402

c = get_config()  # noqa: F821

settings = hub.HubSettings.from_env()
roster = hub.read_roster(settings.roster)
trainers = sorted(e.username for e in roster if e.role == "trainer")
learners = sorted(e.username for e in roster if e.role == "learner")
missing = [e.username for e in roster if not hub.system_user_exists(e.username)]
if missing:
    raise hub.HubSetupError(
        f"no system account for {', '.join(missing)}: run "
        f"`python {HERE / 'cs_dojo_hub.py'} users {settings.roster} --passwords-out handout.csv` as root"
    )
hub.ensure_exchange(settings.exchange_root)

# --- network: public port through the proxy; hub and proxy API on loopback only -------------
scheme = "https" if settings.ssl_cert else "http"
c.JupyterHub.bind_url = f"{scheme}://{settings.ip}:{settings.port}"
if settings.ssl_cert:
    c.JupyterHub.ssl_cert = settings.ssl_cert
    c.JupyterHub.ssl_key = settings.ssl_key
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.command = hub.proxy_command()
c.ConfigurableHTTPProxy.should_start = True

# --- state: database, cookie secret, pid files ------------------------------------------------
state = settings.state_dir
state.mkdir(parents=True, exist_ok=True)
state.chmod(0o700)
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may log in ---------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no systemd-logind session per server on a plain VM/container
c.Authenticator.allowed_users = set(trainers) | set(learners)
c.Authenticator.admin_users = set(settings.admins)
c.JupyterHub.load_groups = {
    hub.TRAINER_GROUP: {"users": trainers},
    hub.LEARNER_GROUP: {"users": learners},
}
# Trainers see who is active; they get no access to learners' servers (files stay private).
c.JupyterHub.load_roles = [
    {
        "name": "cs-dojo-trainer",
        "description": "CS Dojo trainers: list learners and their activity",
        "scopes": ["self", "list:users", "read:users:activity", "read:users:name", "read:groups"],
        "groups": [hub.TRAINER_GROUP],
    }
]

# --- single-user servers ----------------------------------------------------------------------
python = hub.singleuser_python(settings)
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(python), "-m", "jupyterhub.singleuser"]
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "CS_DOJO_EXCHANGE_ROOT": str(settings.exchange_root),
    "CS_DOJO_COURSE_ID": settings.course_id,
    "CS_DOJO_COURSE_ROOT": settings.course_root,
    "MPLBACKEND": "Agg",
    "LANG": os.environ.get("LANG", "C.UTF-8"),  # Japanese file names and text in terminals
}


def pre_spawn_hook(spawner):
    """Pick the role's Jupyter config, keep the home private and set the learner id."""
    name = spawner.user.name
    if not hub.system_user_exists(name):
        raise hub.HubSetupError(f"no system account for {name}: add it to the roster and run cs_dojo_hub.py users")
    hub.make_private_home(name)
    groups = {g.name for g in spawner.user.groups}
    role = "trainer" if hub.TRAINER_GROUP in groups else "learner"
    env = spawner.environment = dict(spawner.environment)
    env["JUPYTER_CONFIG_PATH"] = hub.jupyter_config_path(role)
    env["PATH"] = os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    env["CS_DOJO_HUB_ROLE"] = role
    if role == "learner":
        # Exercises derive per-learner variations from this id. Not set for trainers: their
        # autograde kernels must take each learner's id from the submission, not the trainer's.
        env["CS_DOJO_LEARNER_ID"] = name
    else:
        env.pop("CS_DOJO_LEARNER_ID", None)


c.Spawner.pre_spawn_hook = pre_spawn_hook
