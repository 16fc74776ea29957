#!/usr/bin/env bash
# Throughput on one connection to Postfix's smtp-sink on 127.0.0.1: messages per
# second of embedded-smtp's `send` example, Postfix's smtp-source and lettre 0.11,
# each sending COUNT messages with a SIZE-byte body, RUNS times; prints the median
# of each and its ratio to smtp-source. Not part of CI (timings on a shared
# machine vary): run it by hand.
#
#   bash examples/bench-lettre/throughput.sh            # COUNT=2000 SIZE=1024 RUNS=3
#   COUNT=500 RUNS=5 bash examples/bench-lettre/throughput.sh
#
# Installs Debian's postfix (for smtp-sink and smtp-source) when smtp-sink is
# missing. Builds with CARGO_BUILD_JOBS=1 unless told otherwise. Everything it
# starts listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail

COUNT=${COUNT:-2000}
SIZE=${SIZE:-1024}
RUNS=${RUNS:-3}
# Messages for the split-write (Nagle) runs; a stalled one takes about 45 ms.
STALL_COUNT=${STALL_COUNT:-20}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SINK_BIN=/usr/sbin/smtp-sink
SOURCE_BIN=/usr/sbin/smtp-source
FROM_HDR='Bench <bench@example.com>'
FROM=bench@example.com
TO=sink@example.com
HELO=bench.example

# ------------------------------------------------------------------ tools --
if [[ ! -x $SINK_BIN || ! -x $SOURCE_BIN ]]; then
    echo "== installing postfix (smtp-sink, smtp-source)"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y postfix
fi

echo "== building (release)"
(cd "$ROOT" && cargo build --release --example send --features nal,std,tls)
(cd "$HERE" && cargo build --release --bins)
SEND="$ROOT/target/release/examples/send"
LETTRE="$HERE/target/release/bench-lettre"
NAL="$HERE/target/release/nal-direct"

# ------------------------------------------------------------ the sinks --
WORK=$(mktemp -d)
# smtp-sink runs as nobody when started as root: it must reach the dump folder.
chmod 0755 "$WORK"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# smtp-sink must drop root privileges when started as root.
SINK_USER=()
if [[ $(id -u) == 0 ]]; then SINK_USER=(-u nobody); fi

# start_sink PORT [smtp-sink options...]: starts smtp-sink and waits until it listens.
start_sink() {
    local port=$1
    shift
    "$SINK_BIN" "${SINK_USER[@]}" "$@" "127.0.0.1:$port" 1000 >>"$WORK/sink.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "smtp-sink did not start on 127.0.0.1:$port" >&2
    cat "$WORK/sink.log" >&2
    exit 1
}

"$LETTRE" --body "$SIZE" >"$WORK/body.txt"

# ---------------------------------------------------- the message shapes --
# One message from each client to a sink that writes what it receives, so the
# table can say what each sent. smtp-source then sends, with -F, the very
# message `send` delivered (its header block and body).
DUMP="$WORK/dump"
mkdir -m 0777 "$DUMP"
DPORT=$(free_port)
start_sink "$DPORT" -d "$DUMP/%H%M%S."

# received FILE: the message as delivered, without the headers smtp-sink adds
# before it and the empty line it adds after it.
received() {
    awk 'BEGIN { head = 1 }
         head && /^(X-[A-Za-z-]+|Received):/ { skip = 1; next }
         head && skip && /^[ \t]/ { next }
         { head = 0; if (n++) print prev; prev = $0 }
         END { if (n && prev != "") print prev }' "$1"
}

# shape NAME: the newest dump's message, as CRLF lines: bytes and header fields.
shape() {
    local f
    # shellcheck disable=SC2012 # the names are smtp-sink's HHMMSS.hex
    f=$(ls -t "$DUMP" | head -1)
    received "$DUMP/$f" >"$WORK/shape.$1"
    rm -f "${DUMP:?}/$f"
    local bytes headers
    bytes=$(awk '{ n += length($0) + 2 } END { print n }' "$WORK/shape.$1")
    headers=$(awk '/^$/ { exit } /^[^ \t]/ { sub(/:.*/, ""); printf "%s%s", sep, $0; sep = ", " }' "$WORK/shape.$1")
    printf '  %-13s %5d bytes: %s + %d-byte body\n' "$1" "$bytes" "$headers" "$SIZE"
}

echo "== what each client sends (one message each, as smtp-sink received it)"
timeout 60 "$SEND" --server "127.0.0.1:$DPORT" --tls none --helo "$HELO" \
    --from "$FROM_HDR" --to "$TO" --subject throughput --body-file "$WORK/body.txt" 2>"$WORK/send.err" || { cat "$WORK/send.err" >&2; exit 1; }
sleep 0.3
shape send
# smtp-source appends CRLF to each line of -F: give it LF lines. It sends them
# as they are, then an empty line and the end of data.
tr -d '\r' <"$WORK/shape.send" >"$WORK/source.eml"
timeout 60 "$SOURCE_BIN" -d -s 1 -m 1 -M "$HELO" -f "$FROM" -t "$TO" -F "$WORK/source.eml" "127.0.0.1:$DPORT"
sleep 0.3
shape smtp-source
timeout 60 "$LETTRE" 127.0.0.1 "$DPORT" 1 "$SIZE" >/dev/null
sleep 0.3
shape lettre
# smtp-source ends what -F gives it with one more empty line (2 bytes).
if ! cmp -s <(cat "$WORK/shape.send" && echo) "$WORK/shape.smtp-source"; then
    echo "  (note: smtp-source's message differs from send's by more than its empty last line)"
    diff "$WORK/shape.send" "$WORK/shape.smtp-source" | head -10 || true
fi

# ------------------------------------------------------------ the runs --
PORT=$(free_port)
start_sink "$PORT"

# Each prints one number: messages per second.
run_send() {
    timeout 600 "$SEND" --server "127.0.0.1:$PORT" --tls none --helo "$HELO" \
        --from "$FROM_HDR" --to "$TO" --subject throughput \
        --body-file "$WORK/body.txt" --repeat "$COUNT" 2>&1 >/dev/null |
        sed -n 's/.*: \([0-9.]*\) messages\/s.*/\1/p'
}
run_source() {
    local t0 t1
    t0=$(date +%s.%N)
    timeout 600 "$SOURCE_BIN" -d -s 1 -m "$COUNT" -M "$HELO" -f "$FROM" -t "$TO" \
        -F "$WORK/source.eml" "127.0.0.1:$PORT"
    t1=$(date +%s.%N)
    awk -v n="$COUNT" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}
run_lettre() {
    timeout 900 "$LETTRE" 127.0.0.1 "$PORT" "$COUNT" "$SIZE" |
        sed -n 's/.*: \([0-9.]*\) messages\/s.*/\1/p'
}
run_nal() { # WAIT
    timeout 600 "$NAL" 127.0.0.1 "$PORT" "$COUNT" "$SIZE" 8192 "$1" |
        sed -n 's/.*: \([0-9.]*\) messages\/s.*/\1/p'
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

NAMES=(send smtp-source lettre nal-backoff nal-spin nal-poll)
declare -A ALL
echo "== $RUNS runs of $COUNT messages (${SIZE}-byte body) over one connection each"
for run in $(seq "$RUNS"); do
    # Interleaved, so a burst of load elsewhere hits every client alike.
    for name in "${NAMES[@]}"; do
        case $name in
        send) v=$(run_send) ;;
        smtp-source) v=$(run_source) ;;
        lettre) v=$(run_lettre) ;;
        nal-backoff) v=$(run_nal backoff) ;;
        nal-spin) v=$(run_nal spin:200) ;;
        nal-poll) v=$(run_nal poll) ;;
        esac
        if [[ -z $v ]]; then
            echo "$name: no figure (see $WORK/sink.log)" >&2
            exit 1
        fi
        ALL[$name]+="$v "
        printf '  run %d %-12s %10s msgs/s\n' "$run" "$name" "$v"
    done
done

declare -A MED
for name in "${NAMES[@]}"; do
    MED[$name]=$(tr ' ' '\n' <<<"${ALL[$name]}" | grep . | median)
done
base=${MED[smtp-source]}

label() {
    case $1 in
    send) echo "embedded-smtp: send --tls none --repeat $COUNT" ;;
    smtp-source) echo "Postfix smtp-source -d" ;;
    lettre) echo "lettre 0.11 SmtpTransport (sync, pool of 1)" ;;
    nal-backoff) echo "nal-direct: Client on FromNal, Backoff::default()" ;;
    nal-spin) echo "nal-direct: the same, yield 200 us then Backoff" ;;
    nal-poll) echo "nal-direct: the same, poll(2) wait hook" ;;
    esac
}

echo
echo "== median of $RUNS runs, $COUNT messages of a ${SIZE}-byte body, one connection"
printf '| %-58s | %10s | %12s | %s |\n' client "msgs/s" "vs smtp-source" "runs"
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 60))" "------------" "----------------" "------"
for name in "${NAMES[@]}"; do
    ratio=$(awk -v a="${MED[$name]}" -v b="$base" 'BEGIN { r = a / b; printf (r < 0.1 ? "%.4fx" : "%.2fx"), r }')
    printf '| %-58s | %10s | %14s | %s |\n' "$(label "$name")" "${MED[$name]}" "$ratio" "${ALL[$name]% }"
done

# ------------------------------------------------- Nagle on split writes --
# A message larger than the client's transmit buffer leaves in several writes
# with no read between them; with Nagle's algorithm on (std-embedded-nal has no
# set_nodelay) the kernel holds a small write while an earlier small one is
# unacknowledged, and smtp-sink, with nothing to answer before the end of data,
# acknowledges only when its delayed-ACK timer fires (about 40 ms on Linux).
echo
echo "== messages larger than one write: $STALL_COUNT messages each, one run"
"$LETTRE" --body 100000 >"$WORK/body100k.txt"
printf '  %-44s ' "nal-direct, 1024-byte body, tx 1024:"
timeout 600 "$NAL" 127.0.0.1 "$PORT" "$STALL_COUNT" "$SIZE" 1024 poll | sed 's/^nal-direct: //'
printf '  %-44s ' "nal-direct, 20000-byte body, tx 8192:"
timeout 600 "$NAL" 127.0.0.1 "$PORT" "$STALL_COUNT" 20000 8192 poll | sed 's/^nal-direct: //'
printf '  %-44s ' "send, 100000-byte body:"
timeout 600 "$SEND" --server "127.0.0.1:$PORT" --tls none --helo "$HELO" \
    --from "$FROM_HDR" --to "$TO" --subject throughput \
    --body-file "$WORK/body100k.txt" --repeat "$STALL_COUNT" 2>&1 >/dev/null | sed 's/^send: //'
printf '  %-44s ' "smtp-source -l 100000 (one write a message):"
t0=$(date +%s.%N)
timeout 600 "$SOURCE_BIN" -d -s 1 -m "$STALL_COUNT" -M "$HELO" -f "$FROM" -t "$TO" -l 100000 "127.0.0.1:$PORT"
t1=$(date +%s.%N)
awk -v n="$STALL_COUNT" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d message(s) in %.3f s: %.1f messages/s\n", n, b - a, n / (b - a) }'
