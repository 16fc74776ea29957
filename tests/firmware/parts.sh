#!/usr/bin/env bash
# The per-part cost table: flash of a footprint binary (footprint.sh) by part of
# the code, from the symbol sizes of its ELF (arm-none-eabi-nm), minus the same
# parts of the baseline binary (same runtime and responder, no SMTP code).
#
#   ./parts.sh [target] [profile] [feature]   default: thumbv7em-none-eabihf release fp-blocking
#
# A symbol counts for the first group whose pattern its demangled name matches
# (the patterns are in PARTS below). Code the compiler inlined counts where it
# was inlined: the blocking client's `send` is mostly in `blocking::Client::run`
# and the session code in the firmware's `main`. What no symbol covers (string
# literals, panic locations, alignment) is the last row; the total is the flash
# difference that footprint.sh reports.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="-C link-arg=-Tlink.x --remap-path-prefix=$(cd ../.. && pwd)=/embedded-smtp"
t=${1:-thumbv7em-none-eabihf} p=${2:-release} f=${3:-fp-blocking}

# group name | extended regular expression on the demangled symbol name
PARTS='engine (embedded_smtp::engine)|^embedded_smtp::engine::
client drivers (blocking, async)|^(<)?embedded_smtp::(blocking|asynch|driver)::
message writer (headers, MIME, quoted-printable)|^(<)?embedded_smtp::message::(header|qp|dot|Message|Sink|Attachment|BodySource|RawMessage|resolve|seven_bit)|MessageWriter
base64 (message bodies, AUTH)|^(<)?embedded_smtp::(b64|message::base64)::|put_base64
reply parser (nom)|^(<)?embedded_smtp::reply::|nom::
address validation|^(<)?embedded_smtp::address::
commands and AUTH|^(<)?embedded_smtp::(command|auth)::
errors and numbers|^(<)?embedded_smtp::(error|num|limits)::
core::fmt and panics|core::fmt|core::panicking|panic|slice_index|slice_end_index|slice_start_index|len_mismatch|rust_begin_unwind|BorrowMutError
memcpy, memset, compiler-builtins|compiler_builtins|__aeabi|^mem(cpy|set|cmp|move|clr)|__u?divsi|__u?mod
core library (str, slice, iterators)|^(<)?(core::|&|\[|str>|(u8|u16|u32|u64|usize|char) as)
firmware: main with the session code inlined, responder, runtime|__cortex_m_rt_main|embedded_smtp_firmware|cortex_m|^(Reset|main|HardFault|Default|__INTERRUPTS|__EXCEPTIONS|__RESET_VECTOR)
other (machine-outlined fragments, labelled constants)|.'

size_of() { # elf -> "flash"
    arm-none-eabi-size -A "$1" | awk '/^\.(vector_table|text|rodata|data) /{f+=$2} END{print f}'
}
groups_of() { # elf -> "group<TAB>bytes" lines
    arm-none-eabi-nm -S -C "$1" | PARTS="$PARTS" awk '
        function hex(s,   i, c, v) { v = 0; s = tolower(s)
            for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
            return v }
        BEGIN { n = split(ENVIRON["PARTS"], g, "\n"); for (i = 1; i <= n; i++) { k = index(g[i], "|"); name[i] = substr(g[i], 1, k - 1); re[i] = substr(g[i], k + 1) } }
        NF >= 4 && $3 ~ /^[tTrRdD]$/ {
            sym = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", sym)
            for (i = 1; i <= n; i++) if (sym ~ re[i]) { sum[i] += hex($2); break }
        }
        END { for (i = 1; i <= n; i++) printf "%s\t%d\n", name[i], sum[i] + 0 }'
}
build() { # feature -> elf path (copied, so the next build does not replace it)
    cargo build -q --profile "$p" --target "$t" --bin footprint ${1:+--features "$1"}
    local out=target/$t/$p/footprint-${1:-baseline}.parts
    cp "target/$t/$p/footprint" "$out"
    echo "$out"
}

base=$(build "")
elf=$(build "$f")
total=$(( $(size_of "$elf") - $(size_of "$base") ))
echo "Flash by part: $f, $t, profile $p (binary minus baseline)"
echo
echo "| part | flash (B) |"
echo "|---|---:|"
paste <(groups_of "$elf") <(groups_of "$base" | cut -f2) | awk -F'\t' -v total="$total" '
    { d = $2 - $3; if (d != 0) printf "| %s | %d |\n", $1, d; s += d }
    END { printf "| string literals, panic locations, alignment (no symbol) | %d |\n", total - s
          printf "| **total** | **%d** |\n", total }'
