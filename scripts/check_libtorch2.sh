#!/usr/bin/env bash
# The LibTorch 2.x leg: builds and tests dltrain against Debian 13 (trixie)'s LibTorch 2.6 in a chroot, as root.
#
# Usage: scripts/check_libtorch2.sh [cpu|cuda|all]      (default: cpu)
#   cpu   libtorch-dev 2.6 (CPU), g++ 14, Catch2 v3, nlohmann-json 3.11: README command 2 (scripts/test.sh)
#         inside the chroot with -Werror, i.e. the whole build warning-free and the whole CTest suite.
#   cuda  libtorch-cuda-dev 2.6 (built for CUDA 12.4) and the CUDA 12.4 runtime libraries: scripts/gpu_check.sh
#         as on a GPU machine (header libraries from .debs, the `cuda` preset, every target, -Werror) up to its
#         first GPU step; then, with no GPU, the CUDA test binary (exit 77: no device), `dltrain doctor`
#         (`--require cuda` must exit 6) and the whole CTest suite of that build (its CPU tests).
#         cuDNN cannot be installed here: Debian's nvidia-cudnn package downloads it from NVIDIA while it
#         installs. Without it libtorch_cuda.so has undefined cudnn* symbols, so the leg links with
#         -Wl,--allow-shlib-undefined and runs its binaries with a generated stub libcudnn.so.9 whose functions
#         all fail (nothing calls them without a GPU). On a real GPU machine use scripts/gpu_check.sh instead.
#
# The chroots live outside the repository, one folder per variant under $DLTRAIN_CHROOT_CACHE
# (default /var/cache/dltrain), and are re-created when missing, older than $DLTRAIN_CHROOT_MAX_AGE_DAYS
# (default 30) or made by another version of this script. debootstrap and the packages come from the Debian
# mirror apt uses on this machine ($DLTRAIN_DEBIAN_MIRROR overrides it). The working tree (tracked and
# untracked, not ignored files) is copied to /check/dltrain inside the chroot, ../shared is mounted read-only at
# /check/shared when present, and the build folder inside the chroot is kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

variant="${1:-cpu}"
case "$variant" in
  cpu | cuda) variants=("$variant") ;;
  all) variants=(cpu cuda) ;;
  -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [cpu|cuda|all]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || { echo "error: $0 needs root (debootstrap, chroot, mount)" >&2; exit 2; }

cache="${DLTRAIN_CHROOT_CACHE:-/var/cache/dltrain}"
max_age_days="${DLTRAIN_CHROOT_MAX_AGE_DAYS:-30}"
suite=trixie
chroot_format=1  # bump when the chroot's base changes; older chroots are then re-created
mirror="${DLTRAIN_DEBIAN_MIRROR:-$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
  grep -m1 -E '/debian/?$' || true)}"
mirror="${mirror%/}"

# What the cuda variant installs on top of debootstrap's minbase (the cpu variant runs scripts/setup.sh, which
# installs what it needs): the compiler and CMake, python3 (tests, gpu_check's summary), the zlib/curl/OpenSSL
# headers, OpenBLAS (as on a tuned machine: doctor warns about the reference BLAS), libtorch-cuda-dev (contrib), which pulls libtorch-cuda-2.6 and the CUDA 12.4 libraries (non-free), Gloo's and NCCL's headers
# (libgloo-cuda-dev, libnccl-dev: the data-parallel code with its NCCL path), and
# nvidia-cuda-toolkit (non-free): LibTorch's CMake config enables the CUDA language and requires the CUDA toolkit
# (nvcc, the CUDA headers ATen's CUDA headers include), even for a project without .cu files.
# dltrain's header libraries (CLI11, spdlog, fmt, nlohmann-json, Catch2) are not installed: gpu_check.sh unpacks
# the Debian 12 .debs that it fetches on this machine (--fetch-debs), as on a GPU machine without apt.
cuda_packages=(build-essential cmake python3 zlib1g-dev libcurl4-openssl-dev libssl-dev libopenblas0-openmp
               libtorch-cuda-dev libgloo-cuda-dev libnccl-dev nvidia-cuda-toolkit)

log() { printf '[check_libtorch2 %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  mounted=()
}
trap unmount_all EXIT

mount_into() {  # mount_into ROOT: /proc, /dev and ../shared (read-only) inside the chroot
  local root=$1
  mount -t proc proc "$root/proc"
  mounted+=("$root/proc")
  mount --rbind /dev "$root/dev"
  mount --make-rslave "$root/dev"
  mounted+=("$root/dev")
  if [ -d ../shared ]; then
    mkdir -p "$root/check/shared"
    mount --bind ../shared "$root/check/shared"
    mounted+=("$root/check/shared")
    mount -o remount,bind,ro "$root/check/shared"
  fi
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

# Unmounts whatever an interrupted earlier run left mounted under ROOT, so that nothing below it is a host folder.
unmount_leftovers() {
  local target
  awk -v r="$1/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r target; do
    umount -l "$target" || true
  done
}

in_chroot() {  # in_chroot ROOT COMMAND: runs COMMAND with bash in /check/dltrain, with a clean environment
  local root=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI="${CI:-}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    bash -euo pipefail -c "cd /check/dltrain && $*"
}

# Creates or reuses the chroot for a variant; prints its path.
ensure_chroot() {
  local name=$1 root="$cache/$suite-$1" stamp want
  want="format=$chroot_format suite=$suite mirror=$mirror"
  stamp="$root/etc/dltrain-chroot"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
    [ -z "$(find "$stamp" -mtime "+$max_age_days" 2>/dev/null)" ]; then
    log "reusing chroot $root ($(du -sh "$root" 2>/dev/null | cut -f1))" >&2
    echo "$root"
    return
  fi
  [ -n "$mirror" ] || { echo "error: no Debian mirror found in apt's sources; set DLTRAIN_DEBIAN_MIRROR" >&2; exit 2; }
  command -v debootstrap >/dev/null || {
    source scripts/apt_missing.sh
    apt_install_missing check_libtorch2 debootstrap >&2
  }
  log "creating chroot $root (debian $suite from $mirror)" >&2
  local t=$SECONDS
  unmount_leftovers "$root"
  unmount_leftovers "$root.new"
  rm -rf --one-file-system "$root" "$root.new"
  mkdir -p "$cache"
  debootstrap --variant=minbase --components=main,contrib,non-free --include=ca-certificates \
    "$suite" "$root.new" "$mirror" >"$cache/debootstrap-$name.log" 2>&1 ||
    { tail -20 "$cache/debootstrap-$name.log" >&2; exit 1; }
  echo "$want" >"$root.new/etc/dltrain-chroot"
  mv "$root.new" "$root"
  log "chroot created in $((SECONDS - t)) s" >&2
  echo "$root"
}

# Copies the working tree (tracked and untracked, not ignored files) to /check/dltrain, where the build folders are
# kept between runs. Only files whose content differs are copied (and so get a new modification time): the kept
# build then rebuilds what changed, never less (a copy that kept the tree's times could leave stale objects),
# and not everything because a fresh clone's files are all new. Files gone from the tree are removed there.
copy_tree() {
  local dest="$1/check/dltrain" f
  mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue
    cmp -s "$f" "$dest/$f" && continue
    mkdir -p "$dest/$(dirname "$f")"
    cp --preserve=mode "$f" "$dest/$f"
  done
  comm -23 <(cd "$dest" && find . -path './build*' -prune -o -type f -print | sed 's|^\./||' | sort) \
    <(git ls-files --cached --others --exclude-standard | sort) | while IFS= read -r f; do rm -f "$dest/$f"; done
  find "$dest" -mindepth 1 -type d -empty -not -path "$dest/build*" -delete
}

run_cpu() {
  local root
  root=$(ensure_chroot cpu)
  unmount_leftovers "$root"
  mount_into "$root"
  copy_tree "$root"
  local t=$SECONDS
  in_chroot "$root" 'DLTRAIN_SETUP_NO_BUILD=1 bash scripts/setup.sh'
  log "cpu: packages ready ($((SECONDS - t)) s); scripts/test.sh in $suite (LibTorch 2.6, -Werror)"
  in_chroot "$root" 'DLTRAIN_CMAKE_ARGS=-DDLTRAIN_WERROR=ON bash scripts/test.sh'
  log "cpu: passed; chroot size $(du -sh --one-file-system "$root" | cut -f1)"
  unmount_all
}

# libtorch-cuda-2.6 depends on nvidia-cudnn, whose installation downloads cuDNN from NVIDIA and fails here. An empty
# package of that name and a higher version satisfies the dependency; make_cudnn_stub then provides the library.
install_cudnn_placeholder() {
  in_chroot "$1" '
    if ! dpkg-query -W -f="\${Status}" nvidia-cudnn 2>/dev/null | grep -q "install ok installed"; then
      pkg=/tmp/nvidia-cudnn-placeholder
      mkdir -p "$pkg/DEBIAN"
      printf "%s\n" "Package: nvidia-cudnn" "Version: 9.0.0.312~cuda12+dltrain.placeholder" "Architecture: amd64" \
        "Maintainer: dltrain check_libtorch2.sh <nobody@localhost>" \
        "Description: empty placeholder: the real package downloads cuDNN while installing" >"$pkg/DEBIAN/control"
      dpkg-deb --build "$pkg" /tmp/nvidia-cudnn-placeholder.deb >/dev/null
      dpkg -i /tmp/nvidia-cudnn-placeholder.deb
    fi'
}

# A libcudnn.so.9 that defines every cudnn* symbol libtorch_cuda.so needs, each returning an error status.
make_cudnn_stub() {
  in_chroot "$1" '
    lib=$(find /usr/lib -name "libtorch_cuda.so*" -type f | head -1)
    mkdir -p /opt/cudnn-stub
    nm -D --undefined-only "$lib" | awk "\$2 ~ /^cudnn/ {sub(/@.*/, \"\", \$2); print \$2}" | sort -u |
      awk "{print \"int \" \$1 \"(void) { return 1; }\"}" >/opt/cudnn-stub/stub.c
    echo "libcudnn.so.9 { global: *; };" >/opt/cudnn-stub/version.map  # the version node libtorch_cuda.so asks for
    gcc -shared -fPIC -Wl,-soname,libcudnn.so.9 -Wl,--version-script,/opt/cudnn-stub/version.map \
      -o /opt/cudnn-stub/libcudnn.so.9 /opt/cudnn-stub/stub.c
    echo "cudnn stub: $(wc -l </opt/cudnn-stub/stub.c) functions"'
}

run_cuda() {
  local root debs="$cache/debs-gpu-check"
  root=$(ensure_chroot cuda)
  unmount_leftovers "$root"
  mount_into "$root"
  copy_tree "$root"
  if ! ls "$debs"/*.deb >/dev/null 2>&1; then
    log "cuda: fetching gpu_check's .debs into $debs"
    bash scripts/gpu_check.sh --fetch-debs "$debs"
  fi
  rm -rf "$root/check/debs" && cp -r "$debs" "$root/check/debs"
  log "cuda: installing libtorch-cuda-dev and the build tools (when missing)"
  install_cudnn_placeholder "$root"
  in_chroot "$root" "source scripts/apt_missing.sh && apt_install_missing check_libtorch2 ${cuda_packages[*]}"
  make_cudnn_stub "$root"
  log "cuda: scripts/gpu_check.sh with LibTorch 2.6 CUDA: builds the cuda preset (-Werror), stops at the first GPU step"
  in_chroot "$root" '
    export LD_LIBRARY_PATH=/opt/cudnn-stub
    export DLTRAIN_CMAKE_ARGS="-DDLTRAIN_WERROR=ON -DCMAKE_EXE_LINKER_FLAGS=-Wl,--allow-shlib-undefined"
    rc=0; bash scripts/gpu_check.sh --libtorch /usr --debs /check/debs --out /check/gpu-check || rc=$?
    echo "gpu_check.sh exit $rc (6: no usable CUDA GPU, as expected here)"
    [ "$rc" -eq 6 ]'
  log "cuda: the CUDA build without a GPU"
  in_chroot "$root" '
    export LD_LIBRARY_PATH=/opt/cudnn-stub:/check/dltrain/build-cuda/deps/usr/lib/x86_64-linux-gnu
    bin=./build-cuda/app/dltrain
    grep -E "^Torch_DIR|^CUDAToolkit_.*VERSION|^CMAKE_CXX_COMPILER:" build-cuda/CMakeCache.txt || true
    ls -l "$bin" build-cuda/tests/dltrain_cuda_tests build-cuda/tests/dltrain_tests
    "$bin" --version
    echo "== dltrain_cuda_tests: the cases compiled in (it exits 77 without a device)"
    ./build-cuda/tests/dltrain_cuda_tests --list-tests || true  # Catch2 v2 exits with the number of cases
    rc=0; ./build-cuda/tests/dltrain_cuda_tests || rc=$?; [ "$rc" -eq 77 ]
    echo "== dltrain doctor"
    "$bin" doctor
    rc=0; "$bin" doctor --require cuda >/tmp/require.txt 2>&1 || rc=$?
    tail -3 /tmp/require.txt
    [ "$rc" -eq 6 ] || { echo "FAILED: doctor --require cuda exit $rc, expected 6"; exit 1; }
    echo "== ctest on the CUDA build (the CPU tests; cuda.tests skips without a device)"
    export DLTRAIN_DATA_DIR=/check/shared/data
    cd build-cuda && ctest --output-on-failure -j"$(nproc)"'
  log "cuda: passed; chroot size $(du -sh --one-file-system "$root" | cut -f1)"
  unmount_all
}

for v in "${variants[@]}"; do
  start=$SECONDS
  "run_$v"
  log "$v leg took $((SECONDS - start)) s"
done
