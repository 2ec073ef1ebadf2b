# bench/lib/redis.sh — what bench/redis.sh and bench/pairs.sh share to run
# the peer: a private redis-server with appendonly yes, the RSVP script
# loaded, one redis-benchmark round (POSIX sh, sourced after
# bench/lib/vmsd.sh; not a benchmark itself, so outside bench/*.sh).

REASON="Sorry, can't make it"
SCRIPT="local id=ARGV[1]; local rec=cjson.encode({id=id,name=ARGV[2],isAttending=ARGV[3]=='true',reason=ARGV[4]}); redis.call('SET','rsvps/'..id..'.json',rec); return 1"

# have_redis: are redis-server, redis-benchmark and redis-cli installed?
have_redis() {
	command -v redis-server >/dev/null 2>&1 &&
	    command -v redis-benchmark >/dev/null 2>&1 &&
	    command -v redis-cli >/dev/null 2>&1
}

# start_redis DIR SCRIPT-NAME: a redis-server (appendonly yes, appendfsync
# always, the AOF never rewritten) on a free loopback port with its files
# in DIR; sets RPID, RPORT and SHA (the RSVP script's). Exits 1 if it
# does not start.
start_redis() {
	_tries=0
	while :; do
		RPORT=$(( 20000 + ($$ + 13 + _tries * 7919) % 30000 ))
		redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$1" \
		    --appendonly yes --appendfsync always --save "" \
		    --auto-aof-rewrite-percentage 0 \
		    --logfile "$1/redis.log" &
		RPID=$!
		_i=0
		while [ $_i -lt 100 ] && kill -0 "$RPID" 2>/dev/null; do
			[ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] &&
			    break
			sleep 0.05
			_i=$((_i + 1))
		done
		[ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && break
		wait "$RPID" 2>/dev/null
		RPID=
		_tries=$((_tries + 1))
		if [ $_tries -ge 5 ]; then
			echo "$2: redis-server did not start:"
			tail -n 5 "$1/redis.log"
			exit 1
		fi
	done
	SHA=$(redis-cli -p "$RPORT" SCRIPT LOAD "$SCRIPT")
	case "$SHA" in
	[0-9a-f]*) ;;
	*)	echo "$2: SCRIPT LOAD failed: $SHA"; exit 1 ;;
	esac
}

# stop_redis: stop the redis-server in $RPID, if any
stop_redis() {
	stop_var RPID
}

# redis_round MODE CLIENTS CALLS: one redis-benchmark round of the RSVP
# script with appendfsync MODE; prints "redis-MODE-cCLIENTS clients=..
# calls=.. rate=.. p50=.. p95=.. p99=.. max=.. cpu=..", cpu being
# redis-server's CPU per call in us (all its threads, the kernel's work for
# it included, as for vmsd's worker), or nothing if it failed (its output
# then on stderr).
redis_round() {
	redis-cli -p "$RPORT" CONFIG SET appendfsync "$1" >/dev/null ||
	    { echo "redis-cli CONFIG SET appendfsync $1 failed" >&2; return 1; }
	_t0=$(proc_ticks "$RPID")
	_out=$(redis-benchmark -p "$RPORT" -n "$3" -c "$2" -r 100000 --csv \
	    EVALSHA "$SHA" 0 user__rand_int__ bob false "$REASON" 2>&1)
	_cpu=$(cpu_per_call $(( $(proc_ticks "$RPID") - _t0 )) "$3")
	_line=$(echo "$_out" | tail -n 1 | awk -F'","' -v m="$1" \
	    -v c="$2" -v n="$3" -v cpu="$_cpu" '
	NF >= 8 {
		gsub(/"/, "", $8)
		printf "redis-%s-c%d clients=%d calls=%d rate=%.0f p50=%s p95=%s p99=%s max=%s cpu=%s\n",
		    m, c, c, n, $2, $5, $6, $7, $8, cpu
	}')
	if [ -z "$_line" ]; then
		echo "redis-benchmark failed: $_out" >&2
		return 1
	fi
	echo "$_line"
}
