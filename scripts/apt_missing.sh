# Sourced by the setup scripts: apt_install_missing WHO PACKAGE... installs the Debian packages that
# are not installed yet (as root, or with sudo), saying which. APT_NO_RECOMMENDS=1: without recommended packages.
apt_install_missing() {
  local who=$1 p sudo_cmd=""
  shift
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "$who: installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  local options=(-y -q)
  [ -z "${APT_NO_RECOMMENDS:-}" ] || options+=(--no-install-recommends)
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install "${options[@]}" "${missing[@]}"
}
