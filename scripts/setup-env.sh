#!/usr/bin/env bash
# Create .venv and install alignment-qa with the given extras (default: dev).
# CPU torch is installed first (torch==2.13.0), so sentence-transformers never pulls a CUDA build.
# With the llamacpp extra, llama-cpp-python is built once per machine into a wheel cache with a portable
# x86-64 (AVX2) build: a -march=native build uses the AMX kernels on CPUs that advertise AMX, and those
# crash (SIGSEGV in ggml_backend_amx_mul_mat) on the first prompt here.
# Re-running is cheap: nothing is reinstalled while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
python_bin="${PYTHON:-python3}"
llama_cpp_version="0.3.36"
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
stamp=".venv/.alignment-qa-installed"
want="$(sha256sum pyproject.toml scripts/setup-env.sh | sha256sum | cut -d' ' -f1) $extras"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
case ",$extras," in
  *,llamacpp,*)
    wheels="${XDG_CACHE_HOME:-$HOME/.cache}/alignment-qa/wheels"
    mkdir -p "$wheels"
    wheel=$(ls "$wheels"/llama_cpp_python-"$llama_cpp_version"-*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$wheel" ]; then
      echo "building llama-cpp-python $llama_cpp_version once (a few minutes)..."
      cmake_args=""
      if [ "$(uname -m)" = "x86_64" ]; then
        cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
      fi
      CMAKE_ARGS="$cmake_args" .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps \
        "llama-cpp-python==$llama_cpp_version" -w "$wheels"
      wheel=$(ls "$wheels"/llama_cpp_python-"$llama_cpp_version"-*.whl | head -n 1)
    fi
    .venv/bin/python -m pip install --quiet --force-reinstall --no-deps "$wheel"
    ;;
esac
.venv/bin/python -m pip install --quiet -e ".[$extras]"
echo "$want" > "$stamp"
