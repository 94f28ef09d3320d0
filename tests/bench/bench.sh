#!/bin/sh
# bench.sh - `make bench`: what pvebot costs, measured with instruction
# counts (valgrind's callgrind, when installed) and CPU time, never wall
# time alone: the machines it runs on are shared and noisy.
#
# Prints one line per figure, "name value unit (target ...)", then the
# machine. Nothing here is a pass/fail test; docs/performance.md keeps the
# table with the targets of issue 16. Everything binds to 127.0.0.1.
#
# BENCH_ONLY=console measures the console figures only.
#
# Figures:
#   console_whoami_instr   instructions per console `whoami` (callgrind:
#                          N=220 lines minus N=20, divided by 200)
#   console_whoami_cpu     CPU ms per console `whoami` (2,000 lines minus
#                          none, divided by 2,000)
#   router_guest_cpu       CPU ms of the router thread per guest command
#                          (`guest VMID`), at each guest count the
#                          simulator can generate (13 always; 1,000 and
#                          10,000 with `pvebot sim --guests`)
#   monitor_cycle_cpu      CPU ms of the monitor thread per cycle (its own
#                          thread clock, logged when it stops) and RSS
#                          after the cycles, at 13, 1,000 and 10,000
#                          guests (1 s interval; 10 s, and 130 s, about
#                          100 cycles, at 10,000)
#   pve_handshakes         TLS connections the simulator accepted for 100
#                          actions in a row (start/stop of one guest)
#   telegram_msg_cpu       CPU ms of pvebot per Telegram `whoami` in a
#                          burst of 200, against the fake Bot API with
#                          real long polling (bench_telegram.c), minus
#                          its idle CPU over as long
#   telegram_p50, _p95     wall ms from a message's arrival at the fake
#                          (available to getUpdates) to its reply's
#                          arrival there, one message at a time, 200
#   telegram_whoami_instr  instructions per Telegram `whoami` including
#                          its HTTP (callgrind: 220 messages minus 20,
#                          divided by 200)
#   startup_cpu            CPU ms of a start and stop with no input
#   idle_rss, idle_pss     kB of a started pvebot with nothing to do
set -u
PVEBOT=${PVEBOT:-bin/pvebot}
BENCHBIN=${BENCHBIN:-build/rel/tests/bench}
export PVEBOT
DIR=$(mktemp -d /tmp/pvebot-bench.XXXXXX)
CWD=$(pwd)
trap 'kill $SIMPID 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
SIMPID=""

say() { printf '%-22s %s\n' "$1" "$2"; }

# CPU seconds (user+sys) of a command, from bash-free /proc accounting:
# run it as a child and read its rusage through /usr/bin/env time when
# available, else through the shell's `times` difference.
cpu_of() {
	# $1: output file for the child's CPU in ms; rest: the command.
	out=$1; shift
	t0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
	"$@"
	t1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
	hz=$(getconf CLK_TCK)
	echo $(( (t1 - t0) * 1000 / hz )) >"$out"
}

conf_console() {
	# $1: path; $2: extra YAML (proxmox section) or "".
	cat >"$1" <<EOF
database: $DIR/bench.db
commands: $CWD/commands
policies: $CWD/policies
log_level: warn
chat:
  console: {user: bob}
  rate_limit:
    per_user: 100000
    user_burst: 100000
    per_room: 100000
    room_burst: 100000
monitor:
  enabled: false
digest:
  enabled: false
$2
EOF
}

lines() {
	# $1: count, $2: the line
	i=0
	while [ "$i" -lt "$1" ]; do echo "$2"; i=$((i + 1)); done
}

[ -x "$PVEBOT" ] || { echo "bench: $PVEBOT not built (make bin/pvebot)"; exit 1; }
conf_console "$DIR/console.conf" ""

# ---- console whoami -------------------------------------------------------
lines 2000 whoami >"$DIR/in2000"
: >"$DIR/in0"
rm -f "$DIR/bench.db"*
cpu_of "$DIR/c0" sh -c "'$PVEBOT' run -c '$DIR/console.conf' <'$DIR/in0' >/dev/null 2>&1"
rm -f "$DIR/bench.db"*
cpu_of "$DIR/c2000" sh -c "'$PVEBOT' run -c '$DIR/console.conf' <'$DIR/in2000' >'$DIR/out2000' 2>&1"
answered=$(grep -c "you are bob" "$DIR/out2000")
c0=$(cat "$DIR/c0"); c2000=$(cat "$DIR/c2000")
say console_whoami_cpu "$(awk -v a="$c2000" -v b="$c0" 'BEGIN{printf "%.3f ms", (a-b)/2000}') ($answered of 2000 answered; target: as low as the instructions say)"
say startup_cpu "$c0 ms (start and stop, no input; target <= 15 ms to the first poll)"

if command -v valgrind >/dev/null 2>&1; then
	instr() {
		rm -f "$DIR/bench.db"* "$DIR"/cg.out*
		lines "$1" whoami >"$DIR/inN"
		valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" \
		    "$PVEBOT" run -c "$DIR/console.conf" <"$DIR/inN" \
		    >/dev/null 2>"$DIR/vg.log"
		# Every thread's total: the "summary:" lines of each part file.
		awk '/^summary:/ {s += $2} /^totals:/ {t += $2}
		    END {print (s > 0 ? s : t)}' "$DIR"/cg.out*
	}
	i20=$(instr 20)
	i220=$(instr 220)
	say console_whoami_instr "$(( (i220 - i20) / 200 )) instructions (target <= 100000)"
else
	say console_whoami_instr "skipped: valgrind not installed"
fi
# BENCH_ONLY=console stops here (a quick look after a change).
[ "${BENCH_ONLY:-}" = console ] && exit 0

# ---- Telegram whoami ------------------------------------------------------
TG=$BENCHBIN/bench_telegram
if [ -x "$TG" ]; then
	say telegram_msg_cpu "$("$TG" cpu 200 2>"$DIR/tg.err" ||
	    echo "failed: $(tail -n 3 "$DIR/tg.err")") (no target in issue 16)"
	"$TG" latency 200 >"$DIR/tglat" 2>"$DIR/tg.err" ||
	    echo "failed: $(tail -n 3 "$DIR/tg.err")" >"$DIR/tglat"
	say telegram_p50 "$(sed -n 1p "$DIR/tglat") (target <= 2 ms)"
	say telegram_p95 "$(sed -n 2p "$DIR/tglat")"
	if command -v valgrind >/dev/null 2>&1; then
		tg_instr() {
			rm -f "$DIR"/tcg.out*
			"$TG" run "$1" valgrind --tool=callgrind \
			    --callgrind-out-file="$DIR/tcg.out" >/dev/null \
			    2>"$DIR/tg.err" || { echo 0; return; }
			awk '/^summary:/ {s += $2} /^totals:/ {t += $2}
			    END {print (s > 0 ? s : t + 0)}' "$DIR"/tcg.out* \
			    2>/dev/null
		}
		t20=$(tg_instr 20)
		t220=$(tg_instr 220)
		if [ "$t20" -gt 0 ] && [ "$t220" -gt 0 ]; then
			say telegram_whoami_instr "$(( (t220 - t20) / 200 )) instructions (target <= 250000)"
		else
			say telegram_whoami_instr "failed: $(tail -n 3 "$DIR/tg.err")"
		fi
	else
		say telegram_whoami_instr "skipped: valgrind not installed"
	fi
else
	say telegram_msg_cpu "skipped: $TG not built (make bench builds it)"
fi

# ---- idle RSS and PSS -----------------------------------------------------
rm -f "$DIR/bench.db"* "$DIR/fifo"
mkfifo "$DIR/fifo"
"$PVEBOT" run -c "$DIR/console.conf" <"$DIR/fifo" >"$DIR/idle.out" 2>&1 &
PID=$!
exec 9>"$DIR/fifo"
echo whoami >&9
n=0
while ! grep -q "you are bob" "$DIR/idle.out" 2>/dev/null && [ $n -lt 200 ]; do
	sleep 0.05; n=$((n + 1))
done
sleep 1
rss=$(awk '/^Rss:/ {print $2}' /proc/$PID/smaps_rollup 2>/dev/null)
pss=$(awk '/^Pss:/ {print $2}' /proc/$PID/smaps_rollup 2>/dev/null)
exec 9>&-
wait $PID 2>/dev/null
say idle_rss "${rss:-?} kB"
say idle_pss "${pss:-?} kB (target <= 4096 kB)"

# ---- router CPU per guest command at N guests ------------------------------
router_at() {
	# $1: guest count, or "" for the simulator's default cluster
	port=$(awk 'BEGIN{srand(); print 20000 + int(rand() * 20000)}')
	export PVEBOT_SIM_SECRET=bench-secret-0000
	if [ -n "$1" ]; then
		"$PVEBOT" sim --port "$port" --guests "$1" \
		    >"$DIR/sim.out" 2>&1 &
	else
		"$PVEBOT" sim --port "$port" >"$DIR/sim.out" 2>&1 &
	fi
	SIMPID=$!
	n=0
	while ! grep -q "fingerprint=" "$DIR/sim.out" 2>/dev/null && [ $n -lt 400 ]; do
		sleep 0.05; n=$((n + 1))
	done
	fpr=$(sed -n 's/.*fingerprint=\([0-9A-F:]*\).*/\1/p' "$DIR/sim.out" | head -n 1)
	conf_console "$DIR/router.conf" "proxmox:
  urls: [\"https://127.0.0.1:$port/api2/json\"]
  token_id: pvebot@pve!bot
  secret_env: PVEBOT_SIM_SECRET
  fingerprint: \"$fpr\""
	# The router logs its own thread clock over its events at stop.
	sed 's/^log_level:.*/log_level: info/' "$DIR/router.conf" \
	    >"$DIR/router.conf.new" && mv "$DIR/router.conf.new" "$DIR/router.conf"
	rm -f "$DIR/bench.db"*
	lines 500 "guest 101" >"$DIR/inG"
	"$PVEBOT" run -c "$DIR/router.conf" <"$DIR/inG" >"$DIR/router.out" 2>&1
	kill $SIMPID 2>/dev/null; wait $SIMPID 2>/dev/null; SIMPID=""
	jobs=$(grep -c "Job #" "$DIR/router.out")
	line=$(grep "part=router stopped" "$DIR/router.out" | tail -n 1)
	ev=$(echo "$line" | sed -n 's/.* events=\([0-9]*\).*/\1/p')
	cpu=$(echo "$line" | sed -n 's/.* events_cpu_ms=\([0-9.]*\).*/\1/p')
	awk -v c="${cpu:-0}" -v e="${ev:-0}" -v j="$jobs" -v g="${1:-13}" \
	    'BEGIN{printf "%.4f ms at %s guests (%d events, %d jobs answered; the router thread'"'"'s clock; target <= 0.05 ms at 10000)\n", (e > 0 ? c / e : 0), g, e, j}'
}
say router_guest_cpu "$(router_at "")"
if "$PVEBOT" sim --help 2>&1 | grep -q -- "--guests"; then
	say router_guest_cpu "$(router_at 1000)"
	say router_guest_cpu "$(router_at 10000)"
else
	say router_guest_cpu "at 1000 and 10000 guests: skipped (the simulator has no --guests)"
fi

# ---- monitor CPU per cycle and RSS at N guests ------------------------------
monitor_at() {
	# $1: guest count ("" for the default cluster), $2: cycles
	port=$(awk 'BEGIN{srand(); print 20000 + int(rand() * 20000)}')
	export PVEBOT_SIM_SECRET=bench-secret-0000
	if [ -n "$1" ]; then
		"$PVEBOT" sim --port "$port" --guests "$1" >"$DIR/msim.out" 2>&1 &
	else
		"$PVEBOT" sim --port "$port" >"$DIR/msim.out" 2>&1 &
	fi
	SIMPID=$!
	n=0
	while ! grep -q "fingerprint=" "$DIR/msim.out" 2>/dev/null && [ $n -lt 400 ]; do
		sleep 0.05; n=$((n + 1))
	done
	fpr=$(sed -n 's/.*fingerprint=\([0-9A-F:]*\).*/\1/p' "$DIR/msim.out" | head -n 1)
	conf_console "$DIR/mon.conf" "proxmox:
  urls: [\"https://127.0.0.1:$port/api2/json\"]
  token_id: pvebot@pve!bot
  secret_env: PVEBOT_SIM_SECRET
  fingerprint: \"$fpr\""
	# The monitor on, polling every second (conf_console turns it off).
	awk '/^monitor:/ {print; getline; print "  enabled: true";
	    print "  interval: 1s"; next}
	    /^log_level:/ {print "log_level: info"; next} {print}' \
	    "$DIR/mon.conf" \
	    >"$DIR/mon.conf.new" && mv "$DIR/mon.conf.new" "$DIR/mon.conf"
	rm -f "$DIR/bench.db"* "$DIR/mfifo"
	mkfifo "$DIR/mfifo"
	"$PVEBOT" run -c "$DIR/mon.conf" <"$DIR/mfifo" >"$DIR/mon.out" 2>&1 &
	PID=$!
	exec 8>"$DIR/mfifo"
	sleep "$2"
	rss=$(awk '/^VmRSS:/ {print $2}' /proc/$PID/status 2>/dev/null)
	exec 8>&-
	wait $PID 2>/dev/null
	kill $SIMPID 2>/dev/null; wait $SIMPID 2>/dev/null; SIMPID=""
	line=$(grep "part=monitor stopped" "$DIR/mon.out" | tail -n 1)
	cyc=$(echo "$line" | sed -n 's/.*cycles=\([0-9]*\).*/\1/p')
	cpu=$(echo "$line" | sed -n 's/.* cycles_cpu_ms=\([0-9.]*\).*/\1/p')
	worst=$(echo "$line" | sed -n 's/.*worst_cycle_cpu_ms=\([0-9.]*\).*/\1/p')
	awk -v c="${cyc:-0}" -v t="${cpu:-0}" -v w="${worst:-0}" -v r="${rss:-0}" -v g="${1:-13}" \
	    'BEGIN{printf "%.1f ms per cycle at %s guests (%d cycles, worst %.1f ms; RSS %.1f MB; targets at 10000: <= 20 ms, <= 40 MB)\n", (c > 0 ? t / c : 0), g, c, w, r / 1024}'
}
say monitor_cycle_cpu "$(monitor_at "" 10)"
if "$PVEBOT" sim --help 2>&1 | grep -q -- "--guests"; then
	say monitor_cycle_cpu "$(monitor_at 1000 10)"
	say monitor_cycle_cpu "$(monitor_at 10000 130)"
fi

# ---- Proxmox TLS handshakes per 100 actions ---------------------------------
handshakes() {
	port=$(awk 'BEGIN{srand(); print 20000 + int(rand() * 20000)}')
	export PVEBOT_SIM_SECRET=bench-secret-0000
	"$PVEBOT" sim --port "$port" --task-ms 10 >"$DIR/hsim.out" 2>&1 &
	SIMPID=$!
	n=0
	while ! grep -q "fingerprint=" "$DIR/hsim.out" 2>/dev/null && [ $n -lt 400 ]; do
		sleep 0.05; n=$((n + 1))
	done
	fpr=$(sed -n 's/.*fingerprint=\([0-9A-F:]*\).*/\1/p' "$DIR/hsim.out" | head -n 1)
	conf_console "$DIR/hs.conf" "proxmox:
  urls: [\"https://127.0.0.1:$port/api2/json\"]
  token_id: pvebot@pve!bot
  secret_env: PVEBOT_SIM_SECRET
  fingerprint: \"$fpr\"
  task_poll_ms: 50
workers: {count: 2, edit_interval: 0s}"
	rm -f "$DIR/bench.db"*
	i=0
	while [ $i -lt 50 ]; do echo "start 101"; echo "stop 101"; i=$((i + 1)); done >"$DIR/inH"
	"$PVEBOT" run -c "$DIR/hs.conf" <"$DIR/inH" >"$DIR/hs.out" 2>&1
	kill $SIMPID 2>/dev/null; wait $SIMPID 2>/dev/null; SIMPID=""
	done_n=$(grep -c "succeeded" "$DIR/hs.out")
	conns=$(sed -n 's/.*connections=\([0-9]*\).*/\1/p' "$DIR/hsim.out" | tail -n 1)
	echo "${conns:-?} for 100 actions ($done_n succeeded; target: 1)"
}
say pve_handshakes "$(handshakes)"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
