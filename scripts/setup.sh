#!/usr/bin/env bash
# Sets up s4 in a plain venv on a fresh machine: pinned dependencies, s4's ROS 2 interfaces
# generated with rosidl into the venv, and s4 itself installed editable. Safe to re-run: each
# step is skipped when its inputs have not changed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${S4_VENV:-$root/.venv}"
python="${PYTHON:-python3}"
cd "$root"

quiet_pip() {
  # pip warns once per missing local index folder on some machines; keep real messages only.
  "$venv/bin/pip" --disable-pip-version-check -q "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }
  return "${PIPESTATUS[0]}"
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

if [ ! -x "$venv/bin/python" ]; then
  echo "s4 setup: creating venv at $venv"
  "$python" -m venv "$venv"
fi

deps_stamp="$venv/.s4-deps-$(stamp_of requirements.txt)"
if [ ! -f "$deps_stamp" ]; then
  echo "s4 setup: installing pinned dependencies (torch CPU first)"
  quiet_pip install "$(grep -E '^torch==' requirements.txt)"
  quiet_pip install -r requirements.txt
  rm -f "$venv"/.s4-deps-*
  touch "$deps_stamp"
fi

msgs_stamp="$venv/.s4-msgs-$(stamp_of CMakeLists.txt package.xml msg/*.msg)"
if [ ! -f "$msgs_stamp" ]; then
  echo "s4 setup: generating s4 interfaces (rosidl)"
  build="$root/build/s4_interfaces"
  mkdir -p "$root/build"
  rm -rf "$build"
  PATH="$venv/bin:$PATH" cmake -S "$root" -B "$build" -DS4_INTERFACES_ONLY=ON \
    -DCMAKE_INSTALL_PREFIX="$venv" -DCMAKE_PREFIX_PATH="$venv" \
    -DPython3_EXECUTABLE="$venv/bin/python" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
    > "$build.configure.log" 2>&1 || { tail -30 "$build.configure.log"; exit 1; }
  PATH="$venv/bin:$PATH" cmake --build "$build" -j "$(nproc)" > "$build.build.log" 2>&1 \
    || { grep -E "error|Error" "$build.build.log" | head -30; exit 1; }
  cmake --install "$build" > "$build.install.log" 2>&1 || { tail -30 "$build.install.log"; exit 1; }
  rm -f "$venv"/.s4-msgs-*
  touch "$msgs_stamp"
fi

# The editable install maps the packages that existed when it ran: re-run it when setup.py or
# the set of top-level packages changes.
installed_stamp="$venv/.s4-installed-$(printf '%s\n' */__init__.py | cat setup.py - | sha256sum | cut -c1-16)"
if [ ! -f "$installed_stamp" ]; then
  echo "s4 setup: installing s4 (editable)"
  quiet_pip install --no-deps --no-build-isolation -e "$root"
  touch "$installed_stamp"
fi

"$venv/bin/python" - <<'PY'
import rclpy, s4.msg, s4_core, s4_ros, torch, ot, cv2, rosbags  # noqa: F401 - a failed import stops setup here
PY
echo "s4 setup: ready ($venv)"
