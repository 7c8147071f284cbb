# Sourced by scripts/test and scripts/demo: installs, as root on Debian/Ubuntu, what the lab and
# the build need when it is missing (the lab's sandbox VMs run the machine's own OpenSSH sshd).
ensure_prereqs() {
  local need=()
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
  command -v sudo >/dev/null 2>&1 || need+=(sudo)
  command -v perl >/dev/null 2>&1 || need+=(perl)
  command -v make >/dev/null 2>&1 || need+=(make)
  command -v cc >/dev/null 2>&1 || need+=(gcc)
  command -v unshare >/dev/null 2>&1 || need+=(util-linux)
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${need[*]} (needed by the lab and the build)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: ${need[*]} missing: install them (apt-get install ${need[*]}), or run this as root" >&2
  fi
}
