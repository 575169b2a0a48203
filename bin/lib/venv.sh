# shellcheck shell=bash
# The project's virtualenv (.venv in the repo root).  Source it after common.sh.
#
# cs_ensure_venv ROOT EXTRAS      EXTRAS is "" (run) or "test"
# Creates .venv when missing or broken and `pip install -e .[EXTRAS]` into it, but only when
# pyproject.toml changed since the last successful install (a stamp in .venv remembers its hash and the
# extras).  Prefers uv (about 3x faster than pip): the one on PATH, else one pip-installed into the venv.

# Python for the venv: pyproject.toml pins 3.11.
cs_pick_python() {
  local c
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      command -v "$c"; return 0
    fi
  done
  return 1
}

cs_venv_python_ok() {  # the venv's interpreter runs (a venv breaks when its base Python goes away) and is 3.11
  [ -x "$1/bin/python" ] &&
    "$1/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null
}

cs_ensure_venv() {
  local root=$1 extras=$2 venv=$1/.venv
  local stamp=$venv/.cirrostack-install want have uv="" py spec=.
  [ -z "$extras" ] || spec=".[$extras]"
  want="pyproject=$(sha256sum "$root/pyproject.toml" | cut -c1-32)"

  # One installer at a time per checkout (parallel `test` + `serve`); the lock lives outside the repo.
  local lock
  lock="${TMPDIR:-/tmp}/cirrostack-venv-$(id -u)-$(printf '%s' "$root" | md5sum | cut -c1-12).lock"
  exec 8>>"$lock"
  flock 8

  have=$(cat "$stamp" 2>/dev/null || true)
  if cs_venv_python_ok "$venv" &&
     # "test" installs everything "run" needs, so a test install also satisfies serve.
     { [ "$have" = "$want extras=$extras" ] || { [ -z "$extras" ] && [ "${have% extras=*}" = "$want" ]; }; }; then
    exec 8>&-
    return 0
  fi
  if [ -e "$venv" ] && [ ! -w "$venv" ]; then
    # Someone else's venv (e.g. root's, whose Python may live under /root): never try to delete it.
    cs_die "$venv belongs to $(stat -c %U "$venv") and is out of date or unusable for $(id -un); run this as $(stat -c %U "$venv"), or remove $venv"
  fi
  if [ -e "$venv" ] && ! cs_venv_python_ok "$venv"; then
    cs_log "recreating $venv (its Python is missing or not 3.11)"
    rm -rf "$venv"
  fi

  export UV_LINK_MODE=${UV_LINK_MODE:-copy}   # uv cache and repo on different file systems: no warning
  # uv trusts its own bundled CA list unless told otherwise; use the system store like pip and apt do
  # (needed behind TLS-inspecting proxies whose CA is only in /etc/ssl/certs).
  export UV_NATIVE_TLS=${UV_NATIVE_TLS:-1}
  if command -v uv >/dev/null && uv --version >/dev/null 2>&1; then uv=$(command -v uv); fi
  if [ ! -x "$venv/bin/python" ]; then
    if [ -n "$uv" ]; then
      # uv finds a 3.11 on PATH (or fetches one where it may); no python3-venv needed.
      "$uv" venv -q --python "$(cs_pick_python || echo 3.11)" "$venv" || cs_die "uv venv failed"
    else
      py=$(cs_pick_python) || cs_die "Python 3.11 is required (pyproject.toml) and neither python3.11 nor python3 is 3.11"
      "$py" -m venv "$venv" || cs_die "'$py -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"
    fi
  fi
  if [ -z "$uv" ] && [ -x "$venv/bin/uv" ]; then uv=$venv/bin/uv; fi
  if [ -z "$uv" ]; then
    # No uv anywhere: pip-install it into the venv once; plain pip remains the fallback.
    "$venv/bin/python" -m pip --version >/dev/null 2>&1 || "$venv/bin/python" -m ensurepip -q >/dev/null
    if "$venv/bin/python" -m pip install -q uv >/dev/null 2>&1; then uv=$venv/bin/uv; fi
  fi

  # serve after test: keep the test extras in, so the next test run does not reinstall them.
  if [ -z "$extras" ] && [ "${have##* extras=}" = test ]; then extras="test"; spec=".[test]"; fi
  rm -f "$stamp"
  local t0=$EPOCHREALTIME tool=pip
  [ -z "$uv" ] || tool="uv ($uv)"
  cs_log "installing the project into .venv: pip install -e '$spec' with $tool"
  if [ -n "$uv" ]; then
    (cd "$root" && "$uv" pip install -q --python "$venv/bin/python" -e "$spec") || cs_die "uv pip install -e '$spec' failed"
  else
    "$venv/bin/python" -m pip --version >/dev/null 2>&1 || "$venv/bin/python" -m ensurepip -q >/dev/null
    (cd "$root" && "$venv/bin/python" -m pip install -q -e "$spec") || cs_die "pip install -e '$spec' failed"
  fi
  echo "$want extras=$extras" > "$stamp"
  cs_log "installed in $(cs_elapsed "$t0") s"
  exec 8>&-
}
