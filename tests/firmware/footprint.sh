#!/usr/bin/env bash
# Flash, static RAM and stack high-water of the core on each target, as the
# difference between the session binary and the baseline (same runtime, same
# in-image responder, no SMTP code). opt-level "z", LTO, one codegen unit, panic
# abort (Cargo.toml [profile.release]). Stack is measured by painting (cortex-m-rt
# `paint-stack`) and includes the caller's buffers (rx 512 + tx 1024 bytes) and
# the responder (about 1.1 KB) that the session binary keeps on its stack.
set -euo pipefail
cd "$(dirname "$0")"
measure() { # target features -> "flash ram stack"
    local t=$1 f=$2 elf out
    cargo build -q --release --target "$t" ${f:+--features "$f"}
    elf=target/$t/release/session
    out=$(timeout 120 cargo run -q --release --target "$t" ${f:+--features "$f"} 2>&1)
    arm-none-eabi-size -A "$elf" | awk -v s="$(echo "$out" | sed -n 's/^stack high-water: \([0-9]*\) bytes$/\1/p')" \
        '/^\.(vector_table|text|rodata|data) /{f+=$2} /^\.(data|bss|uninit) /{r+=$2} END{print f, r, s}'
}
echo
echo "| target | core flash (B) | core static RAM (B) | stack high-water, session − baseline (B) |"
echo "|---|---|---|---|"
for t in thumbv7m-none-eabi thumbv7em-none-eabihf thumbv6m-none-eabi; do
    read -r sf sr ss < <(measure "$t" "")
    read -r bf br bs < <(measure "$t" baseline)
    echo "| $t | $((sf - bf)) | $((sr - br)) | $((ss - bs)) |"
done
